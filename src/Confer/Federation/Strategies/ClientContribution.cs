using Confer.Models;

namespace Confer.Federation.Strategies;

/// <summary>
/// One received update as the aggregation math sees it: p_k, the rank the client was told to train at, and its LoRA
/// scale s_k = α_k / r_k.
/// </summary>
internal sealed record ClientContribution(string ClientId, NamedTensors Adapter, double Weight, int Rank, double Scale);
