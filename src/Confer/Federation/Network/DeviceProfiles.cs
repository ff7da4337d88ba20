namespace Confer.Federation.Network;

/// <summary>
/// Named device profiles for <c>client_devices</c>. Link figures come from public measurements, rounded; compute
/// speeds and drop-out rates are the design assumptions stated with each (a profile is a starting point: override any
/// field per client, e.g. <c>phone-4g up_mbps=3</c>). Sources (docs/design.md lists them too):
/// <list type="bullet">
/// <item>[Ookla] Ookla Speedtest US market report, Q2 2019 (as summarised by potsandpansbyccg.com, "Who has the fastest
/// broadband?"): lowest fixed-ISP latency 9 ms (Verizon, largely fibre); mobile carriers' average latency 31–39 ms.</item>
/// <item>[OS-LTE] OpenSignal, "State of LTE", November 2017 (opensignal.com/reports/2017/11/state-of-lte): global
/// average 4G download 16.6 Mbit/s over 77 countries; [OS-2019] Opensignal, "The State of Mobile Network Experience",
/// May 2019: 17.6 Mbit/s average over 87 countries.</item>
/// <item>[G.992.5] ITU-T Recommendation G.992.5 (ADSL2+): up to 24 Mbit/s downstream, about 1 Mbit/s upstream in
/// Annex A (3.3 Mbit/s with Annex M).</item>
/// <item>[FCC-MBA] FCC, Measuring Broadband America, Thirteenth Fixed Broadband Report (2024, data of Sept–Oct
/// 2022): fibre is the fixed technology with the lowest latency and symmetric tiers; DSL the one with the slowest,
/// most asymmetric service and the highest latency.</item>
/// <item>[Bonawitz] Bonawitz et al., "Towards Federated Learning at Scale: System Design", SysML 2019 (arXiv
/// 1902.01046): 6–10 % of the phones selected for a round drop out.</item>
/// </list>
/// </summary>
public static class DeviceProfiles
{
    /// <summary>The machine running the simulation on a gigabit LAN: the reference every speed is relative to.</summary>
    public static readonly DeviceProfile Lan = new("lan", 1.0, 1000, 1000, 1, 0, 0);

    /// <summary>
    /// A hospital site: a workstation like this machine (speed 1, assumption) on symmetric fibre, 300/300 Mbit/s at
    /// 10 ms [FCC-MBA, Ookla]; 1 % drop-out (maintenance windows; assumption), 5 % jitter.
    /// </summary>
    public static readonly DeviceProfile HospitalFibre = new("hospital-fibre", 1.0, 300, 300, 10, 0.01, 0.05);

    /// <summary>
    /// A clinic on ADSL2+: 20 Mbit/s down, 1 Mbit/s up [G.992.5 Annex A], 30 ms round trip (DSL's latency is the
    /// highest of the fixed technologies [FCC-MBA]); an older desktop at half this machine's speed (assumption); 5 %
    /// drop-out (assumption), 15 % jitter.
    /// </summary>
    public static readonly DeviceProfile ClinicDsl = new("clinic-dsl", 0.5, 1, 20, 30, 0.05, 0.15);

    /// <summary>
    /// A home on cable: 100/10 Mbit/s, 20 ms (DOCSIS tiers are asymmetric; latency between fibre and DSL [FCC-MBA]);
    /// a laptop at a quarter of this machine's speed (assumption); 5 % drop-out (assumption), 20 % jitter.
    /// </summary>
    public static readonly DeviceProfile HomeCable = new("home-cable", 0.25, 10, 100, 20, 0.05, 0.2);

    /// <summary>
    /// A phone on 4G: 17 Mbit/s down [OS-LTE, OS-2019], 5 Mbit/s up (about a third of the downlink; assumption),
    /// 35 ms [Ookla]; a tenth of this machine's speed (assumption); 10 % drop-out [Bonawitz]; 30 % jitter.
    /// </summary>
    public static readonly DeviceProfile Phone4G = new("phone-4g", 0.1, 5, 17, 35, 0.10, 0.3);

    public static IReadOnlyList<DeviceProfile> All { get; } = [Lan, HospitalFibre, ClinicDsl, HomeCable, Phone4G];

    /// <summary>The profile called <paramref name="name"/> (case-insensitive), or null.</summary>
    public static DeviceProfile? Find(string name) => All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
}
