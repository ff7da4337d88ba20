using static TorchSharp.torch;

namespace Confer.Models.Llama2c;

/// <summary>
/// Renames llama2.c tensors to Hugging Face LLaMA keys and fixes the RoPE convention. llama2.c rotates adjacent
/// pairs (x0,x1),(x2,x3),... of each head; HF's <c>rotate_half</c> pairs x_i with x_{i+d/2}. Permuting the rows of
/// wq and wk per head — even rows first, then odd rows — makes the HF model compute exactly the same attention
/// scores, which is what transformers' <c>convert_llama_weights_to_hf.py</c> does.
/// </summary>
internal static class Llama2cHfLayout
{
    public static NamedTensors ToHf(NamedTensors raw, Llama2cConfig c)
    {
        var hf = new NamedTensors();
        try
        {
            hf.Add("model.embed_tokens.weight", raw["tok_embeddings"].clone());
            for (int i = 0; i < c.Layers; i++)
            {
                string l = $"model.layers.{i}.";
                hf.Add(l + "self_attn.q_proj.weight", PermuteForRotateHalf(raw[$"layers.{i}.wq"], c.Heads));
                hf.Add(l + "self_attn.k_proj.weight", PermuteForRotateHalf(raw[$"layers.{i}.wk"], c.KvHeads));
                hf.Add(l + "self_attn.v_proj.weight", raw[$"layers.{i}.wv"].clone());
                hf.Add(l + "self_attn.o_proj.weight", raw[$"layers.{i}.wo"].clone());
                hf.Add(l + "mlp.gate_proj.weight", raw[$"layers.{i}.w1"].clone());
                hf.Add(l + "mlp.up_proj.weight", raw[$"layers.{i}.w3"].clone());
                hf.Add(l + "mlp.down_proj.weight", raw[$"layers.{i}.w2"].clone());
                hf.Add(l + "input_layernorm.weight", raw[$"layers.{i}.attention_norm"].clone());
                hf.Add(l + "post_attention_layernorm.weight", raw[$"layers.{i}.ffn_norm"].clone());
            }
            hf.Add("model.norm.weight", raw["norm"].clone());
            if (!c.SharedClassifier) hf.Add("lm_head.weight", raw["output"].clone());
        }
        catch
        {
            hf.Dispose();
            throw;
        }
        return hf;
    }

    /// <summary><c>w.view(heads, head_dim/2, 2, in).transpose(1, 2).reshape(rows, in)</c>.</summary>
    internal static Tensor PermuteForRotateHalf(Tensor w, int heads)
    {
        long rows = w.shape[0], cols = w.shape[1];
        using var scope = NewDisposeScope();
        return w.view(heads, rows / heads / 2, 2, cols).transpose(1, 2).reshape(rows, cols).contiguous().MoveToOuterDisposeScope();
    }
}
