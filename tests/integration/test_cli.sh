#!/usr/bin/env bash
# The command line: every input error exits with code 2 before training and says on stderr
# which key (and file) is wrong; results files are never clobbered without --overwrite;
# --help/--version; `config-reference` is what docs/CONFIG.md documents.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

write_device_set "$TMP/devs.toml" "dev 1.0 4GiB 100 5" '"dev"'
write_config "$TMP/good.toml" devs.toml 4 1

# Config file errors: the message names the file and the key.
cfg="$TMP/unknown_key.toml"
write_config "$cfg" devs.toml 4 1
sed -i 's/^seed = 1$/seed = 1\nrandom_seed = 3/' "$cfg"
expect_error unknown-key 0 "$cfg" "run.random_seed" -- run "$cfg" --out "$TMP/x.h5"

cfg="$TMP/zero_rounds.toml"
write_config "$cfg" devs.toml 4 0
expect_error rounds-0 0 "$cfg" "run.rounds" -- run "$cfg" --out "$TMP/x.h5"

cfg="$TMP/zero_devices.toml"
write_config "$cfg" devs.toml 0 1
expect_error devices-count-0 0 "$cfg" "devices.count" -- run "$cfg" --out "$TMP/x.h5"

write_device_set "$TMP/negative.toml" "dev 1.0 4GiB 100 5" "broken -2 4GiB 100 5" '"dev", "broken"'
write_config "$TMP/neg.toml" negative.toml 4 1
expect_error negative-slowdown 0 "$TMP/negative.toml" "profiles.broken.slowdown" -- \
  run "$TMP/neg.toml" --out "$TMP/x.h5"

# A memory cap without a unit is an error (it used to be bytes: every task then ran out of memory).
write_device_set "$TMP/unitless.toml" "dev 1.0 4GiB 100 5" "bare 1.0 2 100 5" '"dev", "bare"'
write_config "$TMP/unitless-cfg.toml" unitless.toml 4 1
expect_error memory-without-unit 0 "$TMP/unitless.toml" "profiles.bare.memory" "profile 'bare'" "no unit" "GiB" \
  '"unlimited" for no cap' -- run "$TMP/unitless-cfg.toml" --out "$TMP/x.h5"

# A key left at its default is said to be not set, not to come from a place called "default".
expect_error defaulted-key 0 "key 'algorithm.deadline_s' (not set; default 0.0): must be > 0" -- \
  run "$TMP/good.toml" --set algorithm.straggler=deadline --out "$TMP/x.h5"
! grep -q "default: key" "$TMP/defaulted-key.err" || fail "defaulted-key: the error still reads 'default: key'"

# --set errors: the message names the key.
expect_error wrong-type 0 "algorithm.lr" "abc" -- run "$TMP/good.toml" --set algorithm.lr=abc --out "$TMP/x.h5"
expect_error unknown-set-key 0 "algorithm.learning_rate" -- \
  run "$TMP/good.toml" --set algorithm.learning_rate=0.1 --out "$TMP/x.h5"
expect_error missing-dataset 0 "data.path" "/nonexistent" -- \
  run "$TMP/good.toml" --set data.path=/nonexistent --out "$TMP/x.h5"

# The same config error under mpirun with 3 ranks: exit 2, reported once.
cfg="$TMP/unknown_key.toml"
expect_error unknown-key-np3 3 "$cfg" "run.random_seed" -- run "$cfg" --out "$TMP/x.h5"
expect_error negative-slowdown-np3 3 "$TMP/negative.toml" "profiles.broken.slowdown" -- \
  run "$TMP/neg.toml" --out "$TMP/x.h5"
[[ ! -e "$TMP/x.h5" ]] || fail "a failed run left a results file behind"
check "no failed run created a results file"

# An existing results file is left alone without --overwrite, replaced with it.
out="$TMP/existing.h5"
echo "precious results of an earlier run" >"$out"
before=$(sha256sum <"$out")
expect_error existing-results 0 "$out" "--overwrite" -- run "$TMP/good.toml" --out "$out"
[[ $(sha256sum <"$out") == "$before" ]] || fail "the existing results file was modified"
check "existing results file unchanged"
run_ok overwrite 2 run "$TMP/good.toml" --out "$out" --overwrite
h5check complete "$out" --rounds 1
check "--overwrite: exit 0, the file is now a complete results file"

# Usage: --help, --version, a missing subcommand, an unknown flag.
"$EDGESIM_BIN" --help >"$TMP/help.out" 2>&1 || fail "edgesim --help exited with $?"
grep -q "run" "$TMP/help.out" || fail "--help does not list the run subcommand"
check "--help: exit 0"
version=$("$EDGESIM_BIN" --version) || fail "edgesim --version exited with $?"
[[ $version == *edgesim* ]] || fail "--version printed '$version'"
check "--version: '$version'"
rc=0; "$EDGESIM_BIN" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "no subcommand: exit code $rc, expected 2"
check "no subcommand: exit 2"
rc=0; "$EDGESIM_BIN" run "$TMP/good.toml" --no-such-flag >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "unknown flag: exit code $rc, expected 2"
rc=0; "$EDGESIM_BIN" --no-such-flag >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 ]] || fail "unknown top-level flag: exit code $rc, expected 2"
check "unknown flags: exit 2"

# docs/CONFIG.md documents every key: it holds the config-reference table verbatim.
"$EDGESIM_BIN" config-reference >"$TMP/reference.md" || fail "config-reference exited with $?"
[[ -s "$TMP/reference.md" ]] || fail "config-reference printed nothing"
doc="$EDGESIM_SOURCE_DIR/docs/CONFIG.md"
[[ -f "$doc" ]] || fail "$doc does not exist"
"$PYTHON" - "$TMP/reference.md" "$doc" <<'PY' || fail "docs/CONFIG.md does not contain the output of 'edgesim config-reference' verbatim (regenerate the table)"
import sys
ref, doc = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
if ref not in doc:
    stale = [l for l in ref.splitlines() if l not in doc.splitlines()]
    print("  config-reference lines not in docs/CONFIG.md:", *stale[:5], sep="\n    ",
          file=sys.stderr)
    sys.exit(1)
PY
check "docs/CONFIG.md contains 'edgesim config-reference' verbatim ($(wc -l <"$TMP/reference.md") lines)"
