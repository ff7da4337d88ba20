using Confer.Configuration;
using Confer.Federation;
using Confer.Federation.Simulation;

namespace Confer.Robustness.Attacks;

/// <summary>
/// Which simulated clients attack and how: <c>attackers</c> names them, or <c>attacker_fraction</c> picks
/// round(fraction·N) of the N clients with the run seed (the same ones in every round). Attacks exist only in
/// <c>confer simulate</c>: they are client behaviours — a message stage on the update or a trainer on poisoned data —
/// never a change to the honest clients' path.
/// </summary>
public sealed record AttackPlan(AttackKind Kind, IReadOnlySet<string> Attackers, double Scale)
{
    public static AttackPlan None { get; } = new(AttackKind.None, new HashSet<string>(), 0);

    /// <summary>The <c>attack</c> key's values.</summary>
    public static IReadOnlyDictionary<string, AttackKind> KindNames { get; } = new Dictionary<string, AttackKind>(StringComparer.OrdinalIgnoreCase)
    {
        ["none"] = AttackKind.None, ["sign-flip"] = AttackKind.SignFlip, ["scale"] = AttackKind.Scale, ["noise"] = AttackKind.Noise, ["poison"] = AttackKind.Poison,
    };

    public static AttackKind KindOf(string name) =>
        KindNames.TryGetValue(name, out var kind) ? kind : throw new ConfigException($"attack: unknown value '{name}' (valid: {string.Join(", ", KindNames.Keys)}).");

    /// <summary>The plan the settings describe for these clients; a clear error names a bad key.</summary>
    public static AttackPlan From(SimulationSettings s, IReadOnlyList<string> clientIds)
    {
        var kind = KindOf(s.Attack);
        if (kind == AttackKind.None)
        {
            if (s.Attackers.Length > 0 || s.AttackerFraction > 0) throw new ConfigException("attackers/attacker_fraction: set attack to sign-flip, scale, noise or poison, or leave them out.");
            return None;
        }
        if (s.Attackers.Length > 0 && s.AttackerFraction > 0) throw new ConfigException("attackers and attacker_fraction: give one of them, not both.");
        HashSet<string> attackers;
        if (s.Attackers.Length > 0)
        {
            attackers = new HashSet<string>(s.Attackers, StringComparer.Ordinal);
            if (attackers.FirstOrDefault(a => !clientIds.Contains(a, StringComparer.Ordinal)) is { } unknown)
                throw new ConfigException($"attackers: '{unknown}' is not a client of this run (clients: {string.Join(", ", clientIds.Take(5))}{(clientIds.Count > 5 ? ", …" : "")}).");
        }
        else
        {
            var count = (int)Math.Round(s.AttackerFraction * clientIds.Count, MidpointRounding.AwayFromZero);
            attackers = new HashSet<string>(clientIds.OrderBy(id => SeedMix.Mix(s.Seed, -1, id)).Take(count), StringComparer.Ordinal);
        }
        var scale = s.AttackScale ?? kind switch { AttackKind.SignFlip => 1.0, AttackKind.Scale => 10.0, AttackKind.Noise => 0.05, _ => 0 };
        return new AttackPlan(kind, attackers, scale);
    }

    public bool IsAttacker(string clientId) => Attackers.Contains(clientId);
}
