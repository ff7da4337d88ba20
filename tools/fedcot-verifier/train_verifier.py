"""Pre-trains the verifier encoder shipped as models/confer-arith-verifier: a BERT with a one-logit head that learns to
tell a correct worked solution of the arithmetic suite from one with the actor's kinds of mistakes.

Why a separate PyTorch tool: the masked-LM and replaced-token encoders that `confer pretrain --arch bert` makes in
CPU minutes never learned to check arithmetic (five trials in docs/fedcot.md). A verifier that does needs millions of
examples: about 8 M here, 6.5 minutes on one H200, roughly 45 hours of this project's 2-core CPU. The examples are read
exactly as Confer's discriminator reads a candidate (`[CLS] question [SEP] reasoning [SEP] answer [SEP]`, segment ids
0/1, reasoning cut first), and the folders it writes are HF BERT folders that Confer loads as any other.

    python3 train_verifier.py --suite SUITE --out OUT [--seconds 390 | --steps N] [--cache CACHE]

SUITE is a folder written by `confer fedcot suite --corpus 2000` (its train/test questions are excluded from training and
its encoder_tokenizer/vocab.txt is the vocabulary); CACHE, optional, is a FedCoT candidate cache whose candidates are
then scored zero-shot (best-of-K accuracy, no federated training). Needs a CUDA GPU, torch, transformers, safetensors.
"""
import argparse, glob, json, os, random, re, sys, time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset
from transformers import BertConfig, BertForSequenceClassification
from safetensors.torch import save_file
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arith
from wordpiece import WordPiece

# hidden, layers, heads, ffn. v256x4 is the shipped model; the others were tried (docs/fedcot.md).
VARIANTS = {"v256x4": (256, 4, 4, 1024), "v192x6": (192, 6, 4, 768), "h160x2": (160, 2, 4, 640), "h128x2": (128, 2, 4, 512),
            "h96x3": (96, 3, 4, 384), "h64x4": (64, 4, 4, 256)}

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--suite", required=True, help="folder from `confer fedcot suite` (questions to exclude, encoder_tokenizer/vocab.txt)")
ap.add_argument("--out", required=True, help="output folder: one Confer/HF BERT folder per variant, zero_shot.json")
ap.add_argument("--variants", default="v256x4,v192x6", help=f"comma-separated, of {', '.join(VARIANTS)}; all train on the same batches")
ap.add_argument("--seconds", type=float, default=390.0, help="training time budget; the learning rate decays linearly over it")
ap.add_argument("--steps", type=int, default=0, help="train this many steps instead (decay over steps; reproducible up to GPU nondeterminism)")
ap.add_argument("--batch", type=int, default=1024)
ap.add_argument("--lr", type=float, default=5e-4)
ap.add_argument("--workers", type=int, default=14, help="data-generating processes")
ap.add_argument("--seed", type=int, default=42)
ap.add_argument("--cache", default=None, help="FedCoT candidate cache to score zero-shot (suite questions, gold answers from --suite)")
args = ap.parse_args()

MAXLEN = 160          # FedCoT's max_length default
T0 = time.time()
def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)

vocab_file = os.path.join(args.suite, "encoder_tokenizer", "vocab.txt")
tok = WordPiece(vocab_file)
CLS, SEP, PAD = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id
exclude = set()
for f in glob.glob(os.path.join(args.suite, "*", "*.jsonl")):
    for line in open(f):
        exclude.add(json.loads(line)["question"])
log("excluded suite questions:", len(exclude), "vocab", tok.vocab_size)

def encode(q, r, a):
    """Confer's DiscriminatorInput.Encode: reasoning cut from its start first, then the question, then the answer."""
    segs = [tok.encode(r), tok.encode(q), tok.encode(a)]
    excess = sum(len(s) for s in segs) + 4 - MAXLEN
    for i in range(3):
        if excess <= 0: break
        cut = min(excess, len(segs[i])); segs[i] = segs[i][cut:]; excess -= cut
    ri, qi, ai = segs
    ids = [CLS] + qi + [SEP]
    first = len(ids)
    ids += ri + [SEP] + ai + [SEP]
    return ids, [0] * first + [1] * (len(ids) - first)

def collate(items):
    n = max(len(i) for i, _, _ in items)
    ids = torch.full((len(items), n), PAD, dtype=torch.long); types = torch.zeros_like(ids); mask = torch.zeros_like(ids)
    labels = torch.tensor([l for _, _, l in items], dtype=torch.float32)
    for k, (i, t, _) in enumerate(items):
        ids[k, :len(i)] = torch.tensor(i); types[k, :len(t)] = torch.tensor(t); mask[k, :len(i)] = 1
    return ids, types, mask, labels

def examples(r, n):
    """n generated examples as (ids, segment ids, label)."""
    return [(*encode(q, t, a), l) for q, t, a, l in (arith.example(r, exclude) for _ in range(n))]

class Stream(IterableDataset):
    """Endless batches of generated examples; each worker its own seeded stream."""
    def __init__(self, seed): self.seed = seed
    def __iter__(self):
        w = torch.utils.data.get_worker_info()
        r = random.Random(self.seed * 1000 + (w.id if w else 0))
        while True:
            yield collate(examples(r, args.batch))

def held_out(n, seed):
    items = examples(random.Random(seed), n)
    return [collate(items[k:k + 512]) for k in range(0, n, 512)]

dev = torch.device("cuda")
configs, models, opts = {}, {}, {}
torch.manual_seed(args.seed)
for name in args.variants.split(","):
    h, layers, heads, ffn = VARIANTS[name]
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ffn,
                     num_labels=1, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, max_position_embeddings=512)
    m = BertForSequenceClassification(cfg).to(dev); m.train()
    configs[name], models[name] = cfg, m
    opts[name] = torch.optim.AdamW(m.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    log(name, sum(p.numel() for p in m.parameters()), "parameters")

def logits_of(m, ids, types, mask):
    return m(input_ids=ids, token_type_ids=types, attention_mask=mask).logits[:, 0]

@torch.no_grad()
def evaluate(m, batches):
    m.eval(); right = n = 0; loss = 0.0
    for ids, types, mask, lab in batches:
        ids, types, mask, lab = ids.to(dev), types.to(dev), mask.to(dev), lab.to(dev)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            z = logits_of(m, ids, types, mask).float()
        loss += F.binary_cross_entropy_with_logits(z, lab, reduction="sum").item()
        right += ((z > 0).float() == lab).sum().item(); n += len(lab)
    m.train(); return loss / n, right / n

heldout = held_out(8192, 999_999)
loader = DataLoader(Stream(7), batch_size=None, num_workers=args.workers, prefetch_factor=8, persistent_workers=True)
WARM = 500
step = 0
tstart = time.time()
for ids, types, mask, lab in loader:
    ids, types, mask, lab = (t.to(dev, non_blocking=True) for t in (ids, types, mask, lab))
    frac = step / args.steps if args.steps else (time.time() - tstart) / args.seconds
    if frac >= 1: break
    for name, m in models.items():
        lr = args.lr * min(1.0, (step + 1) / WARM) * max(0.02, 1 - frac)
        for g in opts[name].param_groups: g["lr"] = lr
        with torch.autocast("cuda", dtype=torch.bfloat16):
            z = logits_of(m, ids, types, mask).float()
        loss = F.binary_cross_entropy_with_logits(z, lab)
        opts[name].zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opts[name].step()
    step += 1
    if step % 1000 == 0 or step == 100:
        log(" | ".join([f"step {step}"] + [f"{n} held-out BCE {l:.4f} acc {a:.4f}" for n, (l, a) in ((n, evaluate(m, heldout)) for n, m in models.items())]))
log("trained", step, "steps of", args.batch)

# Confer-loadable folders: HF BERT tensor names in fp32, only the config fields Confer reads, the digit vocabulary.
for name, m in models.items():
    d = os.path.join(args.out, name); os.makedirs(d, exist_ok=True)
    sd = {k: v.detach().float().cpu().contiguous() for k, v in m.state_dict().items()
          if k.startswith(("bert.", "classifier.")) and "position_ids" not in k and "token_type_ids" not in k}
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    c = configs[name]
    json.dump({"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": c.vocab_size, "hidden_size": c.hidden_size,
               "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads, "intermediate_size": c.intermediate_size,
               "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
               "type_vocab_size": 2, "layer_norm_eps": 1e-12, "initializer_range": 0.02, "pad_token_id": 0, "num_labels": 1,
               "torch_dtype": "float32"}, open(os.path.join(d, "config.json"), "w"), indent=2)
    with open(vocab_file) as src, open(os.path.join(d, "vocab.txt"), "w") as dst: dst.write(src.read())
    log(name, "saved", len(sd), "tensors to", d)

def answer_of(text):
    """The number extractor: the last number after "answer is", else the last number."""
    m = re.findall(r"answer is\s*\$?\s*(-?[\d,]*\.?\d+)", text)
    if m: return m[-1].replace(",", "")
    m = re.findall(r"-?\d[\d,]*\.?\d*", text)
    return m[-1].replace(",", "").rstrip(".") if m else None

def zero_shot(cache):
    """Best-of-K accuracy of each verifier, untrained on the candidates, per data set and split."""
    results = {}
    for name, m in models.items():
        m.eval(); results[name] = {}
        for f in sorted(glob.glob(os.path.join(cache, "*.jsonl"))):
            lines = open(f).read().splitlines()
            key = json.loads(lines[0])["key"]; fam, split = key["dataset"], key["split"]
            rows = [json.loads(l) for l in open(os.path.join(args.suite, fam, f"{split}.jsonl"))]
            sel = first = nq = 0
            for line in lines[1:]:
                rec = json.loads(line)
                if "i" not in rec: continue   # the trailer line
                q, gold = rows[rec["i"]]["question"], rows[rec["i"]]["answer"].split("####")[-1].strip()
                answers = [answer_of(s) for s in rec["samples"]]
                ids, types, mask, _ = collate([(*encode(q, s, a or ""), 0.0) for s, a in zip(rec["samples"], answers)])
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                    best = int(torch.argmax(logits_of(m, ids.to(dev), types.to(dev), mask.to(dev)).float()).item())
                sel += answers[best] == gold; first += answers[0] == gold; nq += 1
            results[name][f"{fam}-{split}"] = {"questions": nq, "verifier": 100 * sel / nq, "candidate0": 100 * first / nq}
            log(name, fam, split, results[name][f"{fam}-{split}"])
    json.dump(results, open(os.path.join(args.out, "zero_shot.json"), "w"), indent=2)

if args.cache:
    zero_shot(args.cache)
log("done")
