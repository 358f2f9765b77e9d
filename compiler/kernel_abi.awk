# kernel_abi.awk — runtime/plast.h's kernel ABI block (from the line
# `#ifndef PLAST_KERNEL_ABI` to the first `#endif` after it) as the C string
# kernel_abi_block, which opens every emitted C file (emit_c.c).  Fails when
# the block is missing.
BEGIN {
    print "/* Generated from runtime/plast.h by compiler/kernel_abi.awk: do not edit. */"
    print "static const char kernel_abi_block[] ="
}
/^#ifndef PLAST_KERNEL_ABI/ { inside = 1 }
inside {
    line = ""
    for (i = 1; i <= length($0); i++) {   # escape \ and " (gsub's escapes differ across awks)
        ch = substr($0, i, 1)
        if (ch == "\\" || ch == "\"") line = line "\\"
        line = line ch
    }
    print "    \"" line "\\n\""
}
inside && /^#endif/ { inside = 0; found = 1 }
END {
    print "    ;"
    if (!found) exit 1
}
