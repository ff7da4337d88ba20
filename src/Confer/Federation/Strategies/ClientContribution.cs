using Confer.Models;

namespace Confer.Federation.Strategies;

/// <summary>
/// One received update as <see cref="Strategy"/>'s aggregation hook sees it, after validation.
/// </summary>
/// <param name="ClientId">The client that sent it.</param>
/// <param name="Adapter">Its trained tensors under the task's keys (read them; the caller owns them).</param>
/// <param name="Weight">p_k = n_k / Σ n over this round's updates; the weights of one round sum to 1.</param>
/// <param name="Rank">The LoRA rank r_k its task asked for.</param>
/// <param name="Scale">Its LoRA scale s_k = α_k / r_k (shared by all clients, see <see cref="FederationSettings"/>).</param>
public sealed record ClientContribution(string ClientId, NamedTensors Adapter, double Weight, int Rank, double Scale);
