"""BERT's tokenization (transformers' BasicTokenizer + WordPiece) for ASCII text, as Confer's BertBasicTokenizer does it.
Written out rather than taken from transformers so that the verifier's inputs are Confer's token for token whatever
tokenizer API the GPU machine's transformers has (checked against `confer tokenize` on the suite's text)."""
def _is_punct(ch):
    o = ord(ch)
    return 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126

class WordPiece:
    def __init__(self, vocab_file):
        self.vocab = {line.rstrip("\n"): i for i, line in enumerate(open(vocab_file, encoding="utf-8")) if line.rstrip("\n")}
        self.unk = self.vocab["[UNK]"]; self.cls_token_id = self.vocab["[CLS]"]; self.sep_token_id = self.vocab["[SEP]"]
        self.pad_token_id = self.vocab["[PAD]"]; self.vocab_size = len(self.vocab); self._cache = {}

    def _word(self, w):
        got = self._cache.get(w)
        if got is not None: return got
        if len(w) > 100: out = [self.unk]
        else:
            out, start = [], 0
            while start < len(w):
                end, piece = len(w), None
                while start < end:
                    s = w[start:end] if start == 0 else "##" + w[start:end]
                    if s in self.vocab: piece = self.vocab[s]; break
                    end -= 1
                if piece is None: out = [self.unk]; break
                out.append(piece); start = end
        self._cache[w] = out
        return out

    def encode(self, text):
        ids = []
        for chunk in text.lower().split():
            word = ""
            for ch in chunk:
                if _is_punct(ch):
                    if word: ids += self._word(word); word = ""
                    ids += self._word(ch)
                else: word += ch
            if word: ids += self._word(word)
        return ids

if __name__ == "__main__":
    import sys
    print(" ".join(map(str, WordPiece(sys.argv[1]).encode(sys.argv[2]))))
