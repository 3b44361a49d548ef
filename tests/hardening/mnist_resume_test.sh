#!/bin/bash
# The example's --save_dir and --resume: the folder is created, the run's
# flags are recorded in the checkpoint, and resuming with another optimizer
# or learning rate is an error while another thread count is a warning.
set -u
mnist="$1"
dir="$TEST_TMPDIR/new/run"
out="$TEST_TMPDIR/out"
failed=0
check() {  # check NAME COMMAND...: PASS or FAIL, with the output on failure
  local name="$1"
  shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; cat "$out"; failed=1; fi
}
# A few hundred images each way keep every run to a second or two.
run() { "$mnist" --test_limit=500 "$@" >"$out" 2>&1; }

check save_dir_is_created run --epochs=1 --train_limit=512 --threads=1 \
  --learning_rate=0.002 --save_dir="$dir"
check files_written test -s "$dir/model.pbtxt" -a -s "$dir/checkpoint.ckpt"
for fact in optimizer adam learning_rate 0.002 threads data_dir seed; do
  check "metadata_$fact" grep -aq "$fact" "$dir/checkpoint.ckpt"
done

check other_optimizer_is_an_error \
  bash -c "! '$mnist' --resume='$dir' --epochs=1 --optimizer=sgd >'$out' 2>&1"
check other_optimizer_message grep -q "optimizer=sgd differs from the adam" "$out"
check other_learning_rate_is_an_error \
  bash -c "! '$mnist' --resume='$dir' --epochs=1 --learning_rate=0.1 >'$out' 2>&1"
check other_learning_rate_message grep -q "learning_rate=0.1 differs from the 0.002" "$out"

check same_flags_resume run --resume="$dir" --epochs=2 --threads=1 \
  --optimizer=adam --learning_rate=0.002 --train_limit=512
check same_flags_no_warning bash -c "! grep -q 'warning' '$out'"
check same_flags_continue grep -q "resumed .* after epoch 1" "$out"
check other_threads_resume run --resume="$dir" --epochs=1 --threads=2 --train_limit=512
check other_threads_warning grep -q "thread count is 2 but was 1 in the saved run; the result is not promised to be bit-exact" "$out"

check negative_threads_is_an_error \
  bash -c "! '$mnist' --threads=-1 --epochs=0 >'$out' 2>&1"
check negative_threads_message grep -q "^mnist: --threads: the thread count must be positive" "$out"
check huge_threads_capped run --threads=100000 --resume="$dir" --evaluate_only
check huge_threads_warning grep -q "warning: 100000 threads asked for" "$out"
exit $failed
