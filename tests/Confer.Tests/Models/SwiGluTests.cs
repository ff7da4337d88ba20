using Confer.Models.Llama;
using static TorchSharp.torch;

namespace Confer.Tests.Models;

/// <summary>
/// The SwiGLU node that keeps only gate and up for backward computes autograd's silu(gate)·up: the same value bit for
/// bit, and the same gradients (float64 to 1e-12, float32 to 1e-6), also when only one input needs one.
/// </summary>
public class SwiGluTests
{
    [Theory]
    [InlineData(ScalarType.Float64, 1e-12)]
    [InlineData(ScalarType.Float32, 1e-6)]
    public void ValueAndGradientsEqualAutogradsSiluTimesUp(ScalarType dtype, double tolerance)
    {
        var generator = new Generator(5);
        // Wide gate values reach both tails of the sigmoid, where the derivative's two terms nearly cancel.
        using var gate = (randn([6, 41], generator: generator, dtype: dtype) * 4).requires_grad_();
        using var up = randn([6, 41], generator: generator, dtype: dtype).requires_grad_();
        using var weight = randn([6, 41], generator: generator, dtype: dtype);

        var fused = SwiGlu.Product(gate, up);
        var reference = nn.functional.silu(gate) * up;
        Assert.True(fused.equal(reference).all().item<bool>());
        var fusedGrads = autograd.grad([(fused * weight).sum()], [gate, up]);
        var referenceGrads = autograd.grad([(reference * weight).sum()], [gate, up]);
        for (var i = 0; i < 2; i++)
            Assert.True(fusedGrads[i].allclose(referenceGrads[i], rtol: tolerance, atol: tolerance),
                $"input {i}: max difference {(fusedGrads[i] - referenceGrads[i]).abs().max().to_type(ScalarType.Float64).item<double>()}");

        using var frozenUp = up.detach();
        var onlyGate = autograd.grad([(SwiGlu.Product(gate, frozenUp) * weight).sum()], [gate])[0];
        Assert.True(onlyGate.allclose(referenceGrads[0], rtol: tolerance, atol: tolerance));
    }
}
