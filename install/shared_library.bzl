"""nabla_shared_library: one shared library holding every object of its deps.

Bazel links a cc_binary(linkshared = 1) from static archives, so the linker
keeps only the objects something in the library refers to; a user's entry
point (Adam, LoadSavedModel) and the ops' static registrations would be
dropped. This rule links every nabla library of the deps' transitive closure
whole (alwayslink), and writes beside the library the system link flags its
users need (pkg-config's Libs), taken from the same deps.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _nabla_shared_library_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    features = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    merged = cc_common.merge_cc_infos(cc_infos = [dep[CcInfo] for dep in ctx.attr.deps])
    libraries = []
    flags = []
    for linker_input in merged.linking_context.linker_inputs.to_list():
        for library in linker_input.libraries:
            archive = library.pic_static_library or library.static_library
            if archive == None:
                fail("%s has no static archive to link whole" % linker_input.owner)
            libraries.append(cc_common.create_library_to_link(
                actions = ctx.actions,
                feature_configuration = features,
                cc_toolchain = cc_toolchain,
                pic_static_library = archive,
                alwayslink = True,
            ))
        for flag in linker_input.user_link_flags:
            if flag not in flags:
                flags.append(flag)
    linking_context = cc_common.create_linking_context(
        linker_inputs = depset([cc_common.create_linker_input(
            owner = ctx.label,
            libraries = depset(libraries),
            user_link_flags = depset(flags),
        )]),
    )
    outputs = cc_common.link(
        actions = ctx.actions,
        feature_configuration = features,
        cc_toolchain = cc_toolchain,
        linking_contexts = [linking_context],
        name = ctx.attr.library_name,
        output_type = "dynamic_library",
        user_link_flags = ["-Wl,-soname,lib%s.so" % ctx.attr.library_name],
    )
    library = outputs.library_to_link.resolved_symlink_dynamic_library or outputs.library_to_link.dynamic_library
    link_flags = ctx.actions.declare_file(ctx.label.name + ".linkflags")
    ctx.actions.write(link_flags, " ".join(flags) + "\n")
    return [DefaultInfo(
        files = depset([library, link_flags]),
        runfiles = ctx.runfiles(files = [library, link_flags]),
    )]

nabla_shared_library = rule(
    implementation = _nabla_shared_library_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "library_name": attr.string(mandatory = True),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)

def _nabla_public_headers_impl(ctx):
    # Headers of the deps by their include path ("graph/builder.h"), where
    # generated ones ("proto/graph.pb.h") are found under the bin folder.
    by_path = {}
    for dep in ctx.attr.deps:
        for header in dep[CcInfo].compilation_context.headers.to_list():
            path = header.short_path
            if path.startswith("../"):
                # A header of another repository: ../<repo>/<path>.
                path = path.split("/", 2)[2]
            by_path[path] = header
    headers = []
    for path in ctx.attr.headers:
        if path not in by_path:
            fail("public header %s is not a header of the deps" % path)
        headers.append(by_path[path])
    listing = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(listing, "".join([
        "%s %s\n" % (path, header.short_path)
        for path, header in zip(ctx.attr.headers, headers)
    ]))
    return [DefaultInfo(
        files = depset([listing] + headers),
        runfiles = ctx.runfiles(files = [listing] + headers),
    )]

# nabla_public_headers: the deps' headers named in `headers` (include
# paths), and a listing "<include path> <runfiles path>" a line, for the
# install script. Naming a header the deps lack is an error.
nabla_public_headers = rule(
    implementation = _nabla_public_headers_impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "headers": attr.string_list(mandatory = True),
    },
)
