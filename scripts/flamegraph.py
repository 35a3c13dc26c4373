#!/usr/bin/env python3
"""Folds `perf script` output into stacks and draws them as a flame graph SVG.

    perf script -i perf.data | scripts/flamegraph.py --title "reactor: http-plaintext" > flame.svg

Written here (about 120 lines) so profiling needs nothing beyond Debian's linux-perf and python3.
Frames are `symbol` (module-less; Swift symbols are demangled if `swift-demangle` is on PATH).
"""
import argparse
import html
import shutil
import subprocess
import sys
from collections import defaultdict


def fold(lines):
    """perf script blocks (a header line, then one frame per line, innermost first) -> counts."""
    counts = defaultdict(int)
    stack = []
    header = None
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if header is not None and stack:
                counts[";".join([header] + list(reversed(stack)))] += 1
            stack, header = [], None
            continue
        if header is None:
            header = line.split()[0]  # the command name
            continue
        parts = line.strip().split(None, 1)
        sym = parts[1] if len(parts) > 1 else parts[0]
        sym = sym.rsplit(" (", 1)[0]  # drop " (module)"
        sym = sym.split("+0x")[0]
        stack.append(sym or "[unknown]")
    if header is not None and stack:
        counts[";".join([header] + list(reversed(stack)))] += 1
    return counts


def demangle(counts):
    tool = shutil.which("swift-demangle")
    if not tool:
        return counts
    names = sorted({f for s in counts for f in s.split(";")})
    out = subprocess.run([tool, "--simplified"], input="\n".join(names), capture_output=True, text=True).stdout.split("\n")
    table = dict(zip(names, out))
    return {";".join(table.get(f, f) for f in s.split(";")): n for s, n in counts.items()}


def build_tree(counts):
    root = {"name": "all", "value": 0, "children": {}}
    for stack, n in counts.items():
        root["value"] += n
        node = root
        for frame in stack.split(";"):
            node = node["children"].setdefault(frame, {"name": frame, "value": 0, "children": {}})
            node["value"] += n
    return root


def color(name):
    h = sum(ord(c) for c in name) % 60
    if "Reactor" in name or "Protocols" in name or "Connections" in name:
        return f"rgb(80,{140 + h},{200})"
    if name.startswith("[k]") or "entry_SYSCALL" in name or name.startswith("__x64") or name.startswith("tcp_") or name.startswith("do_"):
        return f"rgb(230,{120 + h},60)"
    return f"rgb(240,{170 + h},{80 + h})"


def svg(root, title, width=1200, row=17):
    rects = []
    depth_max = [0]

    def walk(node, x, depth):
        depth_max[0] = max(depth_max[0], depth)
        w = node["value"] / root["value"] * (width - 20)
        if w < 0.3:
            return
        rects.append((x, depth, w, node["name"], node["value"]))
        cx = x
        for child in sorted(node["children"].values(), key=lambda c: c["name"]):
            walk(child, cx, depth + 1)
            cx += child["value"] / root["value"] * (width - 20)

    walk(root, 10, 0)
    height = (depth_max[0] + 3) * row + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{html.escape(title)}</text>']
    for x, depth, w, name, value in rects:
        y = height - (depth + 1) * row - 10
        pct = 100 * value / root["value"]
        label = html.escape(name)
        chars = int(w / 7)
        text = label if len(label) <= chars else (label[: max(0, chars - 2)] + ".." if chars > 3 else "")
        out.append(f'<g><title>{label} ({value} samples, {pct:.2f}%)</title>'
                   f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" fill="{color(name)}" rx="2"/>'
                   f'<text x="{x + 3:.1f}" y="{y + row - 5}">{text}</text></g>')
    out.append("</svg>")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--title", default="flame graph")
    p.add_argument("--folded", help="also write the folded stacks here")
    args = p.parse_args()
    counts = demangle(fold(sys.stdin))
    if not counts:
        sys.exit("no samples in the input (is it `perf script` output of a perf record -g run?)")
    if args.folded:
        with open(args.folded, "w") as f:
            for s, n in sorted(counts.items()):
                f.write(f"{s} {n}\n")
    print(svg(build_tree(counts), args.title))


if __name__ == "__main__":
    main()
