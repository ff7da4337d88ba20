using System.Diagnostics;
using System.Text.RegularExpressions;
using Confer.Reasoning.Actors;
using Confer.Tests.Deployment;

namespace Confer.Tests.Serving;

/// <summary><c>confer serve</c> as a user runs it: a separate process, found through the URL it prints.</summary>
public sealed partial class ServeCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheServeProcessAnswersTheEndpointActorAndCtrlCStopsItMidStream()
    {
        using var server = Start("serve", "--model", ServeFixture.ModelFolder, "--port", "0", "--api-key", "process-key", "--name", "tiny");
        var url = await WaitForUrlAsync(server);
        using var actor = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = url, Model = "tiny", ApiKey = "process-key" });
        var sampling = new ActorSampling(2, 0.8, 1.0, 12, [], 3);
        var texts = await actor.SampleAsync("Once upon a time", sampling, Ct);
        using var local = ConferModelActor.Load(ServeFixture.ModelFolder);
        Assert.Equal(await local.SampleAsync("Once upon a time", sampling, Ct), texts);

        using var wrongKey = new OpenAiEndpointActor(new OpenAiEndpointOptions { BaseUrl = url, Model = "tiny", ApiKey = "nope" });
        var refused = await Assert.ThrowsAsync<ActorEndpointException>(() => wrongKey.SampleAsync("Hi", sampling, Ct));
        Assert.Contains("answered 401 Unauthorized", refused.Message);

        // Ctrl+C (SIGINT) while a long stream is generating (16 choices of up to 1000 tokens: minutes on a CPU): the
        // generation stops at its next token, the client hears why, and the process exits cleanly.
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "process-key");
        using var longRequest = new HttpRequestMessage(HttpMethod.Post, url + "/completions")
        {
            Content = new StringContent("""{"model": "tiny", "prompt": "Once upon a time", "n": 16, "max_tokens": 1000, "temperature": 1, "seed": 1, "stream": true}""",
                System.Text.Encoding.UTF8, "application/json"),
        };
        using var stream = await http.SendAsync(longRequest, HttpCompletionOption.ResponseHeadersRead, Ct);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(Ct));
        Assert.StartsWith("data: ", await reader.ReadLineAsync(Ct));
        var signalled = Stopwatch.StartNew();
        var signal = server.Interrupt();
        var rest = await reader.ReadToEndAsync(Ct);
        Assert.True(rest.Contains("The server is shutting down", StringComparison.Ordinal),
            $"the stream ended {signalled.Elapsed.TotalSeconds:F1} s after kill {signal} without the shutdown event; it ended with " +
            $"'{rest[Math.Max(0, rest.Length - 300)..]}'; server output:\n{server.Output}");
        Assert.DoesNotContain("[DONE]", rest);
        Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30), Ct));
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(30), $"stopping took {signalled.Elapsed}");
        Assert.Contains("stopped.", server.Output);
        Assert.DoesNotContain("Unhandled exception", server.Output);
    }

    [Theory]
    [InlineData("--host", "example.org", "--host: 'example.org' is not an IP address")]
    [InlineData("--max-n", "0", "--max-n: must be ≥ 1")]
    [InlineData("--template", "no-such-template", "No prompt template named 'no-such-template'")]
    public async Task BadOptionsFailWithOneErrorLine(string option, string value, string message)
    {
        using var server = Start("serve", "--model", ServeFixture.ModelFolder, "--port", "0", option, value);
        Assert.Equal(2, await server.WaitForExitAsync(TimeSpan.FromSeconds(60), Ct));
        var errors = server.Output.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Contains(message, Assert.Single(errors));
    }

    private static async Task<Uri> WaitForUrlAsync(RunningProcess server)
    {
        var until = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < until)
        {
            if (ServingLine().Match(server.Output) is { Success: true } m) return new Uri(m.Groups[1].Value);
            if (server.HasExited) Assert.Fail($"confer serve exited with {server.ExitCode}:\n{server.Output}");
            await Task.Delay(100, Ct);
        }
        Assert.Fail($"confer serve printed no URL within 90 s:\n{server.Output}");
        return null!;
    }

    private static RunningProcess Start(params string[] args) => RunningProcess.Cli("serve", args);

    [GeneratedRegex(@"Serving 'tiny' at (http://\S+/v1) ")]
    private static partial Regex ServingLine();
}
