using System.Diagnostics;
using Confer.Models;
using Confer.Transport;
using Confer.Transport.Protocol;
using Google.Protobuf;

namespace Confer.Cli.Commands.Bench;

/// <summary>Seconds (median of the repeats) of each in-memory stage a tensor stream passes through, both ends together.</summary>
internal sealed record FrameCodecResult(long Bytes, int Frames, double WriteSeconds, double SerializeSeconds, double ParseSeconds, double ReadSeconds)
{
    public double GigabytesPerSecond(double seconds) => Bytes / 1e9 / seconds;

    public double TotalSeconds => WriteSeconds + SerializeSeconds + ParseSeconds + ReadSeconds;
}

/// <summary>
/// The stages of a tensor transfer that cost CPU without any network: <see cref="TensorFrameWriter"/> (tensor bytes
/// into frames, CRC-32), protobuf serialisation (what gRPC does to each message), protobuf parsing, and
/// <see cref="TensorFrameReader"/> (frames into tensors, checks, CRC-32). Frames pass one at a time through a reused
/// wire buffer, as they do through gRPC's buffers, so each frame's memory is as short-lived as in a real transfer.
/// Their sum is the floor under the transfer time before TLS and HTTP/2 add theirs.
/// </summary>
internal static class FrameCodecBench
{
    public static FrameCodecResult Run(NamedTensors payload, int repeats)
    {
        var write = new List<double>();
        var serialize = new List<double>();
        var parse = new List<double>();
        var read = new List<double>();
        var frames = 0;
        var wire = new byte[ProtocolInfo.MaxMessageBytes];
        for (var r = 0; r < repeats; r++)
        {
            long writeTicks = 0, serializeTicks = 0, parseTicks = 0, readTicks = 0;
            frames = 0;
            using var reader = new TensorFrameReader(payload.ByteCount);
            using var source = TensorFrameWriter.Frames(ProtocolInfo.UpdateSection, payload).GetEnumerator();
            var t0 = Stopwatch.GetTimestamp();
            while (source.MoveNext())
            {
                var t1 = Stopwatch.GetTimestamp();
                var message = new UpdateMessage { Frame = source.Current };
                var size = message.CalculateSize();
                message.WriteTo(wire.AsSpan(0, size));
                var t2 = Stopwatch.GetTimestamp();
                var parsed = UpdateMessage.Parser.ParseFrom(wire.AsSpan(0, size));
                var t3 = Stopwatch.GetTimestamp();
                reader.Add(parsed.Frame);
                var t4 = Stopwatch.GetTimestamp();
                writeTicks += t1 - t0;
                serializeTicks += t2 - t1;
                parseTicks += t3 - t2;
                readTicks += t4 - t3;
                frames++;
                t0 = Stopwatch.GetTimestamp();
            }
            var t5 = Stopwatch.GetTimestamp();
            reader.Complete(new Dictionary<string, int> { [ProtocolInfo.UpdateSection] = payload.Count });
            readTicks += Stopwatch.GetTimestamp() - t5;
            using var rebuilt = reader.Take(ProtocolInfo.UpdateSection);
            if (r == 0 && !LoraShapedTensors.Identical(rebuilt, payload)) throw new InvalidOperationException("frames did not rebuild the tensors they came from.");
            write.Add(Seconds(writeTicks));
            serialize.Add(Seconds(serializeTicks));
            parse.Add(Seconds(parseTicks));
            read.Add(Seconds(readTicks));
        }
        return new FrameCodecResult(payload.ByteCount, frames, Median(write), Median(serialize), Median(parse), Median(read));
    }

    private static double Seconds(long ticks) => (double)ticks / Stopwatch.Frequency;

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
