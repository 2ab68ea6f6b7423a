#!/usr/bin/env bash
# Language models in real runs: the tiny Transformer on Debian's fortunes (character level,
# experiments/text/fortunes-transformer.toml, cut to 3 rounds) gives /rounds and /tasks
# identical bit for bit with -np 1 and -np 3; its loss falls and its test perplexity ends
# below the vocabulary size (what a uniform guess scores); summary.py shows the perplexity.
# WikiText-style token files run too. A model that does not fit the data (a CNN on text, the
# Transformer on images), a label partition of text, or a bad Transformer shape stops before
# training with exit 2 naming the key.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

cfg="$EDGESIM_SOURCE_DIR/experiments/text/fortunes-transformer.toml"
quick=(--set run.rounds=3 --set data.train_samples=960)
for np in 1 3; do
  run_ok "np$np" "$np" run "$cfg" "${quick[@]}" --out "$TMP/np$np.h5"
done
h5check complete "$TMP/np1.h5" --rounds 3
echo "np1 vs np3:"
h5check identical "$TMP/np1.h5" "$TMP/np3.h5"
vocab=$(sed -n 's/^data: fortunes, .* vocabulary \([0-9]*\)$/\1/p' "$TMP/np1.log")
[[ -n $vocab ]] || { cat "$TMP/np1.log" >&2; fail "the run did not print its vocabulary size"; }
h5check lm-learns "$TMP/np1.h5" --vocab "$vocab"
"$PYTHON" "$EDGESIM_SOURCE_DIR/scripts/summary.py" "$TMP/np1.h5" >"$TMP/summary.txt"
grep -q "final test perplexity [0-9.]*" "$TMP/summary.txt" || { cat "$TMP/summary.txt" >&2; fail "summary.py shows no perplexity"; }
check "summary.py: $(grep -o 'final test perplexity [0-9.]*' "$TMP/summary.txt")"

# WikiText: word-level files the user provides; the vocabulary is <unk>, <eos> and the
# training words (here 9: "the cat sat on a mat dog ran ." ).
mkdir -p "$TMP/wiki"
for split in train:300 valid:20 test:40; do
  for ((i = 0; i < ${split#*:}; i++)); do
    ((i % 2)) && echo " the dog ran on a mat . " || echo " the cat sat on the mat . "
  done >"$TMP/wiki/wiki.${split%:*}.tokens"
done
run_ok wikitext 1 run "$cfg" --set data.dataset=wikitext --set data.path="$TMP/wiki" --set model.seq_len=16 \
  --set data.train_samples=0 --set data.test_samples=0 --set run.rounds=2 --out "$TMP/wiki.h5"
h5check complete "$TMP/wiki.h5" --rounds 2
grep -q "^data: wikitext, .* vocabulary 11$" "$TMP/wikitext.log" || { cat "$TMP/wikitext.log" >&2; fail "wikitext: expected a vocabulary of 11"; }
check "wikitext: $(grep '^data:' "$TMP/wikitext.log")"

# Models and data that do not go together, and shapes that cannot be built.
expect_error cnn-on-text 0 "key 'model.name'" "data.dataset = \"fortunes\" is text" -- \
  run "$cfg" --set model.name=cnn --out "$TMP/x.h5"
expect_error transformer-on-images 0 "key 'model.name'" "fashion-mnist" -- \
  run "$cfg" --set data.dataset=fashion-mnist --out "$TMP/x.h5"
expect_error dirichlet-text 0 "key 'data.partition'" -- run "$cfg" --set data.partition=dirichlet --out "$TMP/x.h5"
expect_error heads 0 "key 'model.heads'" -- run "$cfg" --set model.heads=3 --out "$TMP/x.h5"
expect_error wikitext-no-path 0 "key 'data.path'" "wiki.train.tokens" -- \
  run "$cfg" --set data.dataset=wikitext --out "$TMP/x.h5"
expect_error seq-too-long 0 "key 'model.seq_len'" -- \
  run "$cfg" --set data.dataset=wikitext --set data.path="$TMP/wiki" --set model.seq_len=320 --out "$TMP/x.h5"

# HeteroFL's way of narrowing a Transformer: every head, a share of each head's dimensions.
run_ok head-dims 2 run "$EDGESIM_SOURCE_DIR/experiments/text/fortunes-transformer.toml" --set run.rounds=1 \
  --set algorithm.name=heterofl --set algorithm.rates=1,0.5 --set model.attention_slicing=head_dims \
  --out "$TMP/head-dims.h5"
h5check complete "$TMP/head-dims.h5" --rounds 1
check "HeteroFL with attention sliced per head dimension trains"
