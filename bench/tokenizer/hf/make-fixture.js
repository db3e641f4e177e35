// Writes the Hugging Face reference files that tests/Forge.Tokenization.Tests/TestData/hf-* hold:
//   node make-fixture.js <corpus.txt> <samples.json> <output folder> [gpt2|cl100k]
// tokenizer.json: HF's BpeTrainer (npm tokenizers 0.23.2, default settings: the binding exposes no trainer options)
//   trained on the corpus with the GPT-2 ByteLevel pre-tokenizer (or a cl100k Split, then ByteLevel without its
//   regex), then <|endoftext|> added as a special token.
// expected.json: for each sample, HF's ids and its GPT-2 ByteLevel pre-tokenisation.
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer, byteLevelPreTokenizer } = require('tokenizers');

const [corpus, samplesPath, outDir, pattern = 'gpt2'] = process.argv.slice(2);
const cl100k = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
if (!outDir) {
  console.error('usage: node make-fixture.js <corpus.txt> <samples.json> <output folder>');
  process.exit(2);
}

const empty = {
  version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null,
  pre_tokenizer: pattern === 'cl100k'
    ? {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: cl100k }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    }
    : { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  post_processor: null,
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  model: {
    type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
    fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: {}, merges: [],
  },
};

(async () => {
  const tokenizer = Tokenizer.fromString(JSON.stringify(empty));
  tokenizer.train([corpus]);
  tokenizer.addSpecialTokens(['<|endoftext|>']);
  fs.mkdirSync(outDir, { recursive: true });
  tokenizer.save(path.join(outDir, 'tokenizer.json'), true);

  const preTokenizer = byteLevelPreTokenizer(false, true);
  const samples = JSON.parse(fs.readFileSync(samplesPath, 'utf8'));
  const expected = [];
  for (const text of samples) {
    const encoding = await tokenizer.encode(text);
    expected.push({ text, ids: encoding.getIds(), spans: preTokenizer.preTokenizeString(text).map(s => s[0]) });
  }
  fs.writeFileSync(path.join(outDir, 'expected.json'), JSON.stringify(expected, null, 1) + '\n');
})();
