// The Hugging Face side of the training benchmark (npm tokenizers 0.23.2, Rust):
//   node train.js <corpus.txt> <output folder> [repeats] [no-encode]
// Trains a byte-level BPE on the corpus `repeats` times (fresh tokenizer each time), then writes to the output folder:
//   tokenizer.json  the trained tokenizer
//   ids.bin         its encoding of the whole corpus, uint32 little endian (skipped with no-encode)
//   result.json     {"trainSeconds": [...], "encodeSeconds": s, "tokens": n, "vocabularySize": v, "merges": m}
// The binding's train(files) always uses BpeTrainer::default(): vocabulary 30000, min frequency 0, no special tokens,
// and an alphabet of the characters seen (not all 256 bytes). The C# side matches the merge count instead.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const [corpus, outDir, repeatsArg, encodeArg] = process.argv.slice(2);
const encode = encodeArg !== 'no-encode';
if (!outDir) {
  console.error('usage: node train.js <corpus.txt> <output folder> [repeats]');
  process.exit(2);
}
const repeats = Number(repeatsArg ?? 3);

const config = JSON.stringify({
  version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
  pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [],
  },
});

(async () => {
  const trainSeconds = [];
  let tokenizer;
  for (let i = 0; i < repeats; i++) {
    tokenizer = Tokenizer.fromString(config);
    const start = process.hrtime.bigint();
    tokenizer.train([corpus]);
    trainSeconds.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  fs.mkdirSync(outDir, { recursive: true });
  tokenizer.save(path.join(outDir, 'tokenizer.json'), false);

  let encodeSeconds = null;
  let ids = new Uint32Array(0);
  if (encode) {
    const text = fs.readFileSync(corpus, 'utf8');
    const start = process.hrtime.bigint();
    const encoding = await tokenizer.encode(text);
    encodeSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    ids = Uint32Array.from(encoding.getIds());
    fs.writeFileSync(path.join(outDir, 'ids.bin'), Buffer.from(ids.buffer));
  }

  const saved = JSON.parse(fs.readFileSync(path.join(outDir, 'tokenizer.json'), 'utf8'));
  const result = {
    trainSeconds, encodeSeconds, tokens: ids.length,
    vocabularySize: tokenizer.getVocabSize(true), merges: saved.model.merges.length,
  };
  fs.writeFileSync(path.join(outDir, 'result.json'), JSON.stringify(result) + '\n');
  console.log(JSON.stringify(result));
})();
