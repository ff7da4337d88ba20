using Confer.Federation.Rounds;

namespace Confer.Reasoning.FedCot;

/// <summary>What a FedCoT experiment reports as it goes: the round driver's events plus candidate generation. All members are optional no-ops.</summary>
public interface IFedCotProgress : IRoundProgress
{
    /// <summary>Generation of one split's candidates begins (<paramref name="questions"/> to go).</summary>
    void GenerationStarted(string label, int questions) { }

    /// <summary><paramref name="done"/> questions of the current split have their candidates.</summary>
    void GenerationProgress(int done) { }

    void GenerationFinished() { }
}
