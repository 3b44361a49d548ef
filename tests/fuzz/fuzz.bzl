"""nabla_fuzz_target: one fuzz target, its libFuzzer binary and its replay test."""

def nabla_fuzz_target(name, deps):
    """Declares the targets of tests/fuzz/<name>_fuzzer.cc.

    <name>_fuzzer: under --config=fuzz (clang, tools/fuzz.sh) a libFuzzer
        binary; otherwise the same target linked with replay_main.cc, which
        runs it once on each file given.
    <name>_replay_test: replays corpus/<name>/ and regressions/<name>/ (every
        crash found so far), so `bazel test //...` checks them with gcc and
        `bazel test --config=asan //tests/fuzz:all` under the sanitizers.

    Args:
      name: the target's name, e.g. "idx" for idx_fuzzer.cc.
      deps: the libraries it fuzzes.
    """
    native.cc_library(
        name = name + "_target",
        testonly = True,
        srcs = [name + "_fuzzer.cc"],
        deps = deps + [":fuzz_util"],
        alwayslink = True,
    )
    native.cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        deps = [":" + name + "_target"] + select({
            ":fuzzing": [],
            "//conditions:default": [":replay_main"],
        }),
        linkopts = select({
            ":fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    corpus = "corpus/" + name
    regressions = "regressions/" + name
    native.cc_test(
        name = name + "_replay_test",
        size = "medium",  # the graph corpora take a minute under ASan
        deps = [":" + name + "_target", ":replay_main"],
        data = native.glob([corpus + "/**", regressions + "/**"]),
        args = [
            "tests/fuzz/" + corpus,
            "tests/fuzz/" + regressions,
        ],
    )
