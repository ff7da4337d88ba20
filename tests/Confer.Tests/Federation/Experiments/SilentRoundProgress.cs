using Confer.Federation.Rounds;

namespace Confer.Tests.Federation.Experiments;

/// <summary>A round progress that shows nothing (every <see cref="IRoundProgress"/> member has a default).</summary>
internal sealed class SilentRoundProgress : IRoundProgress;
