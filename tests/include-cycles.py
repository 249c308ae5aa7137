#!/usr/bin/env python3
"""include-cycles.py DIR: exit 1, naming the loop, if the headers in DIR
include one another in a cycle (only "quoted" includes of headers in DIR
count); exit 0 otherwise. A cycle means no header sits above another, and the
layering the supervisor's README describes no longer holds."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+\.h)"', re.M)


def graph(root):
    names = sorted(n for n in os.listdir(root) if n.endswith(".h"))
    edges = {}
    for name in names:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            edges[name] = [h for h in INCLUDE.findall(f.read()) if h in names]
    return edges


def find_cycle(edges):
    """Depth-first search; returns the first cycle met as a list of names."""
    state = {}  # absent: unseen, 1: on the current path, 2: done
    path = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in edges:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        print("usage: include-cycles.py DIR", file=sys.stderr)
        return 2
    cycle = find_cycle(graph(sys.argv[1]))
    if cycle:
        print("include-cycles: %s: %s" % (sys.argv[1], " -> ".join(cycle)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
