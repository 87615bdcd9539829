#!/usr/bin/env python3
"""Fails when two modules of a crate import from each other, directly or
through others (issue 22: "no module of auth-core imports from a module that
imports from it").

A module is a source file. An edge A -> B is any path in A (a `use`, or a
path in code such as `crate::secret::random_bytes`) that names module B or
an item in it. Edges between a module and its own ancestors or descendants
are left out: a parent declares and re-exports its children, and children
use the parent's shared types; that is nesting, not a cycle.
Usage: module_cycles.py <crate>/src [...]
"""
import re
import sys
from pathlib import Path


def modules(src: Path):
    """Maps module paths (tuples) to files."""
    out = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("lib", "main", "mod"):
            parts = parts[:-1]
        out[tuple(parts)] = f
    return out


PATH = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\}", re.S)


def strip_comments_and_tests(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    # Test modules may import freely (they are leaves of their file).
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests", text)
    return text[: cut.start()] if cut else text


def resolve(here, path, mods, is_dir_module):
    parts = path.split("::")
    base = list(here) if is_dir_module else list(here[:-1])
    if parts[0] == "crate":
        cur = []
    elif parts[0] == "self":
        cur = list(here)
    else:
        cur = base
    rest = parts[1:]
    i = 0
    if parts[0] == "super":
        while i < len(rest) and rest[i] == "super":
            cur = cur[:-1]
            i += 1
    for name in rest[i:]:
        if tuple(cur + [name]) in mods:
            cur = cur + [name]
        else:
            break
    return tuple(cur)


def edges(src: Path):
    mods = modules(src)
    graph = {m: set() for m in mods}
    for m, f in mods.items():
        text = strip_comments_and_tests(f.read_text())
        is_dir = f.name in ("mod.rs", "lib.rs", "main.rs")
        paths = [p for p in PATH.findall(text)]
        for prefix, inner in GROUP.findall(text):
            for item in re.split(r",", inner):
                item = item.strip().split(" as ")[0].strip()
                if item and item != "self":
                    paths.append(prefix + "::" + item.split("::{")[0])
                elif item == "self":
                    paths.append(prefix)
        for p in paths:
            target = resolve(m, p, mods, is_dir)
            if target == m or target[: len(m)] == m or m[: len(target)] == target:
                continue
            graph[m].add(target)
    return graph


def cycles(graph):
    found = []
    index = {}
    low = {}
    stack = []
    on = set()
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            strong(v)
    return found


def main():
    bad = False
    for arg in sys.argv[1:]:
        graph = edges(Path(arg))
        for comp in cycles(graph):
            bad = True
            names = sorted("::".join(c) or "crate" for c in comp)
            print(f"{arg}: modules that import from each other: {', '.join(names)}")
            for a in comp:
                for b in sorted(graph[a]):
                    if b in comp:
                        print(f"  {'::'.join(a) or 'crate'} -> {'::'.join(b) or 'crate'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
