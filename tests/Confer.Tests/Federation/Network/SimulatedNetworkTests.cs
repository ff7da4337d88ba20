using Confer.Configuration;
using Confer.Federation.Network;

namespace Confer.Tests.Federation.Network;

public class SimulatedNetworkTests
{
    private static SimulatedNetwork Network(double? deadline = null) => new(new Dictionary<string, DeviceProfile>
    {
        ["a"] = new("a", ComputeSpeed: 0.5, UplinkMbps: 2, DownlinkMbps: 8, LatencyMs: 20, Dropout: 0, Jitter: 0),
        ["b"] = new("b", ComputeSpeed: 2, UplinkMbps: 100, DownlinkMbps: 100, LatencyMs: 5, Dropout: 0, Jitter: 0),
    }, tokensPerSecond: 1000, deadline, seed: 1);

    /// <summary>
    /// By hand, 1 MB down, 250 kB up, 5000 tokens:
    /// a: (0.020 + 8·10⁶/8·10⁶) + 5000/(0.5·1000) + (0.020 + 2·10⁶/2·10⁶) = 1.02 + 10 + 1.02 = 12.04 s;
    /// b: (0.005 + 8·10⁶/10⁸) + 5000/(2·1000) + (0.005 + 2·10⁶/10⁸) = 0.085 + 2.5 + 0.025 = 2.61 s;
    /// the round lasts as long as the slower: 12.04 s.
    /// </summary>
    [Fact]
    public void WallClockIsTheSlowestClientsDownloadComputeAndUpload()
    {
        var net = Network();
        var a = net.Time(1, 1, "a", 8, 1_000_000, 250_000, 5000);
        var b = net.Time(1, 1, "b", 8, 1_000_000, 250_000, 5000);
        Assert.Equal(1.02, a.DownloadSeconds, 12);
        Assert.Equal(10, a.ComputeSeconds, 12);
        Assert.Equal(1.02, a.UploadSeconds, 12);
        Assert.Equal(12.04, a.Seconds, 12);
        Assert.Equal(0.085, b.DownloadSeconds, 12);
        Assert.Equal(2.5, b.ComputeSeconds, 12);
        Assert.Equal(0.025, b.UploadSeconds, 12);
        Assert.Equal(12.04, net.RoundSeconds([a, b], someoneMissing: false), 12);
    }

    [Fact]
    public void WithADeadlineAMissingClientKeepsTheServerWaitingUntilTheDeadline()
    {
        var net = Network(deadline: 10);
        var b = net.Time(1, 1, "b", 8, 1_000_000, 250_000, 5000);
        Assert.Equal(10, net.RoundSeconds([b], someoneMissing: true), 12);
        Assert.Equal(2.61, net.RoundSeconds([b], someoneMissing: false), 12);
        Assert.Equal(2.61, Network().RoundSeconds([b], someoneMissing: true), 12); // no deadline: nothing to wait for
    }

    [Fact]
    public void JitterAndDropOutsAreAPureFunctionOfSeedRoundAttemptAndClient()
    {
        var devices = new Dictionary<string, DeviceProfile> { ["p"] = DeviceProfile.Parse("phone-4g dropout=0.5 jitter=0.4") };
        var one = new SimulatedNetwork(devices, 1000, null, 7);
        var two = new SimulatedNetwork(devices, 1000, null, 7);
        var draws = Enumerable.Range(1, 200).Select(r => (one.DropsOut(r, 1, "p"), one.Time(r, 1, "p", 4, 10_000, 10_000, 100).Seconds)).ToList();
        Assert.Equal(draws, Enumerable.Range(1, 200).Select(r => (two.DropsOut(r, 1, "p"), two.Time(r, 1, "p", 4, 10_000, 10_000, 100).Seconds)));
        var rate = draws.Count(d => d.Item1) / 200.0;
        Assert.InRange(rate, 0.38, 0.62); // Binomial(200, 0.5): ±3.4σ
        Assert.True(draws.Select(d => d.Seconds).Distinct().Count() > 150, "jitter varies the time round by round");
        Assert.NotEqual(Enumerable.Range(1, 50).Select(r => one.DropsOut(r, 1, "p")), Enumerable.Range(1, 50).Select(r => one.DropsOut(r, 2, "p")));
        Assert.NotEqual(draws.Select(d => d.Item1), Enumerable.Range(1, 200).Select(r => new SimulatedNetwork(devices, 1000, null, 8).DropsOut(r, 1, "p")));
    }

    [Fact]
    public void ProfilesAndOverridesParseAndMistakesAreNamed()
    {
        var phone = DeviceProfile.Parse("phone-4g dropout=0.3 up_mbps=2.5");
        Assert.Equal((0.1, 2.5, 17.0, 35.0, 0.3), (phone.ComputeSpeed, phone.UplinkMbps, phone.DownlinkMbps, phone.LatencyMs, phone.Dropout));
        var custom = DeviceProfile.Parse("speed=0.25 latency_ms=50");
        Assert.Equal((0.25, 1000.0, 50.0), (custom.ComputeSpeed, custom.UplinkMbps, custom.LatencyMs));
        Assert.Contains("unknown profile 'modem'", Assert.Throws<ConfigException>(() => DeviceProfile.Parse("modem")).Message);
        Assert.Contains("'speeed=1'", Assert.Throws<ConfigException>(() => DeviceProfile.Parse("lan speeed=1")).Message);
        Assert.Contains("dropout must be in [0, 1)", Assert.Throws<ConfigException>(() => DeviceProfile.Parse("lan dropout=1")).Message);
        Assert.Contains("not a number", Assert.Throws<ConfigException>(() => DeviceProfile.Parse("lan up_mbps=fast")).Message);
    }
}
