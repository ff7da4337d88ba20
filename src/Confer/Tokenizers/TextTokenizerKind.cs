namespace Confer.Tokenizers;

/// <summary>The tokenizer families Confer reads from a model folder.</summary>
public enum TextTokenizerKind
{
    /// <summary>SentencePiece BPE with byte fallback (<c>tokenizer.model</c>): LLaMA-1/2, Mistral, llama2.c models.</summary>
    SentencePieceBpe,

    /// <summary>GPT-2 byte-level BPE (<c>vocab.json</c> + <c>merges.txt</c>, or <c>encoder.json</c> + <c>vocab.bpe</c>).</summary>
    ByteLevelBpe,

    /// <summary>BERT WordPiece (<c>vocab.txt</c>).</summary>
    WordPiece,

    /// <summary>Hugging Face <c>tokenizer.json</c>, byte-level BPE family: Llama 3, Qwen2/2.5/3, GPT-2 style.</summary>
    TokenizerJsonByteLevelBpe,
}
