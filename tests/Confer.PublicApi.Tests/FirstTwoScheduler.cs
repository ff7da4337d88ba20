using Confer.Federation.Scheduling;

namespace Confer.PublicApi.Tests;

/// <summary>A scheduler from outside Confer: always the first two clients in ordinal id order.</summary>
internal sealed class FirstTwoScheduler : IClientScheduler
{
    public const string RegistryName = "first-two";

    public string Name => RegistryName;

    public IReadOnlyList<string> Select(int round, IReadOnlyList<ClientProfile> clients) =>
        clients.Select(c => c.Id).Order(StringComparer.Ordinal).Take(2).ToList();
}
