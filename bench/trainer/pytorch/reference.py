# The nanoGPT shakespeare_char CPU configuration trained in PyTorch (float32, TF32 off): what validation loss the
# configuration itself reaches, measured on the whole validation split as well as by nanoGPT's 20 batches, to set
# beside Forge's and the bare TorchSharp loop's (bench/trainer/README.md). Written for this comparison, not nanoGPT's code.
# Usage: python3 reference.py TINYSHAKESPEARE.txt [cuda|cpu] [SEED,SEED,...]   (results also to $OUT/reference-DEVICE.json)
import json, math, os, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
path = sys.argv[1]
dev = sys.argv[2] if len(sys.argv) > 2 else "cuda"
seeds = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "1337,1338,1339,1340,1341,1342").split(",")]

text = open(path, encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(ids))
train_ids, val_ids = ids[:n].to(dev), ids[n:].to(dev)
V, L, H, C, T, B = len(chars), 4, 4, 128, 64, 12
ITERS, WARM, LR, MIN_LR = 2000, 100, 1e-3, 1e-4


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = nn.LayerNorm(C, bias=False)
        self.qkv = nn.Linear(C, 3 * C, bias=False)
        self.proj = nn.Linear(C, C, bias=False)
        self.ln2 = nn.LayerNorm(C, bias=False)
        self.up = nn.Linear(C, 4 * C, bias=False)
        self.down = nn.Linear(4 * C, C, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, c // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.lnf = nn.LayerNorm(C, bias=False)
        self.head = nn.Linear(C, V, bias=False)
        self.head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith("proj.weight") or name.endswith("down.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.lnf(x))


def batch(data, gen):
    ix = torch.randint(len(data) - T, (B,), generator=gen, device="cpu").to(dev)
    offs = torch.arange(T, device=dev)
    return data[ix[:, None] + offs], data[ix[:, None] + offs + 1]


@torch.no_grad()
def estimate(model, data, batches, gen):
    model.eval()
    losses = []
    for _ in range(batches):
        x, y = batch(data, gen)
        losses.append(F.cross_entropy(model(x).view(-1, V), y.view(-1)).item())
    model.train()
    return sum(losses) / len(losses)


@torch.no_grad()
def whole(model, data):
    model.eval()
    w = (len(data) - 1) // T
    x = data[: w * T].view(w, T)
    y = data[1 : w * T + 1].view(w, T)
    total = 0.0
    for i in range(0, w, 512):
        total += F.cross_entropy(model(x[i : i + 512]).reshape(-1, V), y[i : i + 512].reshape(-1), reduction="sum").item()
    model.train()
    return total / (w * T)


def lr_at(it):
    if it < WARM:
        return LR * (it + 1) / (WARM + 1)
    if it > ITERS:
        return MIN_LR
    ratio = (it - WARM) / (ITERS - WARM)
    return MIN_LR + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (LR - MIN_LR)


results = []
for seed in seeds:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = Gpt().to(dev)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.99))
    began = time.time()
    for it in range(ITERS):
        for g in opt.param_groups:
            g["lr"] = lr_at(it)
        x, y = batch(train_ids, gen)
        loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    evalgen = torch.Generator().manual_seed(seed + 100000)
    row = {
        "seed": seed,
        "seconds": round(time.time() - began, 1),
        "val20": estimate(model, val_ids, 20, evalgen),
        "val200": estimate(model, val_ids, 200, evalgen),
        "val_whole": whole(model, val_ids),
        "train200": estimate(model, train_ids, 200, evalgen),
    }
    results.append(row)
    print(json.dumps(row), flush=True)

mean = {k: sum(r[k] for r in results) / len(results) for k in ("val20", "val200", "val_whole", "train200")}
print(json.dumps({"device": dev, "mean": mean}), flush=True)
out = os.environ.get("OUT")
if out:
    with open(os.path.join(out, f"reference-{dev}.json"), "w") as f:
        json.dump({"runs": results, "mean": mean}, f, indent=1)
