namespace Confer.Tokenizers.TokenizerJson;

/// <summary>
/// The <c>tokenizer.json</c> is of another family (SentencePiece-style BPE with Metaspace, WordPiece, Unigram). Model
/// folders of those families also ship <c>tokenizer.model</c> or <c>vocab.txt</c>, which are read instead.
/// </summary>
internal sealed class NotByteLevelException(string message) : NotSupportedException(message);
