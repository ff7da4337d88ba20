using System.Text.Json;

namespace Confer.Models;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> that a model class does not read. Those that never change the forward
/// pass — bookkeeping, generation defaults, options of other tasks that <c>PretrainedConfig</c> writes into every config
/// — are known here and pass; any other unread field (a quantization config, logit soft-capping, partial rotary, a
/// new architecture option) is refused by name, so that a model never loads with math Confer would silently skip.
/// </summary>
internal static class HfConfigFields
{
    /// <summary>PretrainedConfig's own attributes and legacy generation defaults: none of them changes the forward pass.</summary>
    public static readonly IReadOnlySet<string> WithoutEffect = new HashSet<string>(StringComparer.Ordinal)
    {
        "_name_or_path", "transformers_version", "use_cache", "return_dict", "output_hidden_states", "output_attentions",
        "torchscript", "use_bfloat16", "tf_legacy_loss", "pruned_heads", "tie_encoder_decoder", "is_decoder",
        "add_cross_attention", "cross_attention_hidden_size", "chunk_size_feed_forward", "is_encoder_decoder",
        "finetuning_task", "id2label", "label2id", "num_labels", "problem_type", "tokenizer_class", "prefix",
        "sep_token_id", "decoder_start_token_id", "task_specific_params", "max_length", "min_length", "do_sample",
        "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p",
        "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size",
        "bad_words_ids", "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
        "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty", "suppress_tokens",
        "begin_suppress_tokens",
        // Llama's tensor-parallel pretraining split of its matmuls: the same function, summed in another order.
        "pretraining_tp",
    };

    /// <summary>Throws for the first unread field that is not known to be without effect.</summary>
    public static void RefuseUnread(IReadOnlyDictionary<string, JsonElement>? unread, string source, IEnumerable<string> read)
    {
        if (unread is null) return;
        foreach (var name in unread.Keys.Order(StringComparer.Ordinal))
        {
            if (WithoutEffect.Contains(name)) continue;
            throw new NotSupportedException(
                $"{source}: field '{name}' is not read by Confer and may change the model's forward pass. Confer reads: {string.Join(", ", read)} " +
                "(and ignores only bookkeeping fields). Remove the field if it has no effect for this model, or use a model without it.");
        }
    }
}
