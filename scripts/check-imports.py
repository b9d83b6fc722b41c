#!/usr/bin/env python3
"""Checks that Package.swift declares exactly the modules each target imports, and that docs/ARCHITECTURE.md's
module table says the same as Package.swift.

For every Swift target (Sources/<Target>/**.swift, Tests/<Target>/**.swift, or the target's `path:`), the modules
named by `import X` / `@testable import X` / `import struct X.Y` are compared with the target's `dependencies:`
in Package.swift (a `.product(name: "P", ...)` counts as module P). Modules of the platform (Foundation, Glibc,
Testing, ...) are not declared and are ignored. It reports:
  - missing: a module imported but not declared (it builds only because another dependency brings it in);
  - unused:  a dependency declared but imported by no file of the target (a test target's dependency on an
             executable target is exempt: it is declared so that the binary the tests run is built first);
  - unknown: an imported module that is neither a target, a declared product nor a platform module;
  - any `@_exported import` (it hides a dependency from the files that use it);
  - a library target missing from docs/ARCHITECTURE.md's table, or a row whose "imports" column differs from
    Package.swift (test targets and targets under Tests/ are not in the table).
Exit status 0 when everything agrees, 1 otherwise (one line per difference on stderr), 2 on a file it cannot read.

Python 3 standard library only; no network, no SwiftPM (so a test can run it while a build holds .build's lock).
Usage: scripts/check-imports.py [--root DIR] [--quiet]
"""
import argparse
import os
import re
import sys

# Modules the toolchain provides: never declared in Package.swift.
PLATFORM_MODULES = {
    "Foundation", "FoundationNetworking", "FoundationXML", "FoundationEssentials", "Dispatch", "Glibc", "Musl",
    "Darwin", "Android", "WinSDK", "Testing", "XCTest", "Swift", "_Concurrency", "Synchronization", "os",
    "Observation", "RegexBuilder", "Distributed", "CoreFoundation", "Combine",
}

TARGET_KINDS = ("target", "executableTarget", "testTarget", "systemLibrary", "binaryTarget", "plugin", "macro")


class PackageError(Exception):
    pass


def strip_swift_comments(text, blank_strings=False):
    """The text with // and /* */ comments blanked. String literals ("…", multi-line \"\"\"…\"\"\", raw #"…"#) are
    kept as they are, or blanked too with `blank_strings` (so that `import X` inside a string is no import);
    newlines always stay, so line numbers and line starts do not move."""
    out, i, n = [], 0, len(text)

    def blank(s):
        return re.sub(r"[^\n]", " ", s)

    while i < n:
        c = text[i]
        m = re.compile(r'(#*)("""|")').match(text, i) if c in '#"' else None
        if m:
            hashes, quote = m.group(1), m.group(2)
            close = quote + hashes
            j = m.end()
            while j < n:
                if text.startswith(close, j):
                    break
                j += 2 if (text[j] == "\\" and not hashes) else 1
            j = min(n, j + len(close))
            literal = text[i:j]
            out.append(literal[:m.end() - i] + blank(literal[m.end() - i:]) if blank_strings else literal)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(blank(text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def balanced(text, start, open_char, close_char):
    """Index just past the bracket that closes the one at `start` (string literals skipped)."""
    depth, i, n = 0, start, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == open_char:
            depth += 1
        elif c == close_char:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise PackageError(f"unbalanced {open_char}{close_char} from offset {start}")


def top_level_items(body):
    """Splits `body` (the inside of a call or array) at commas outside brackets and strings."""
    items, depth, current, i, n = [], 0, [], 0, len(body)
    while i < n:
        c = body[i]
        if c == '"':
            j = i + 1
            while j < n and body[j] != '"':
                j += 2 if body[j] == "\\" else 1
            current.append(body[i:j + 1])
            i = j + 1
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        if c == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(c)
        i += 1
    if "".join(current).strip():
        items.append("".join(current).strip())
    return items


def argument(items, label):
    """The value of `label:` among the call's items, or None."""
    for item in items:
        m = re.match(r"^" + label + r"\s*:\s*(.*)$", item, re.S)
        if m:
            return m.group(1).strip()
    return None


def string_literal(value, what):
    m = re.fullmatch(r'"([^"\\]*)"', value.strip())
    if not m:
        raise PackageError(f"Package.swift: {what} is not a plain string literal: {value!r}")
    return m.group(1)


def dependency_module(item, target):
    """The module a dependency item provides: "X", .target(name: "X"), .product(name: "X", package: ...)."""
    item = item.strip()
    if item.startswith('"'):
        return string_literal(item, f"a dependency of {target}")
    m = re.match(r"^\.(product|target|byName)\s*\((.*)\)$", item, re.S)
    if not m:
        raise PackageError(f"Package.swift: dependency of {target} not understood: {item!r}")
    name = argument(top_level_items(m.group(2)), "name")
    if name is None:
        raise PackageError(f"Package.swift: dependency of {target} without a name: {item!r}")
    return string_literal(name, f"a dependency name of {target}")


def parse_package(text):
    """[(kind, name, path or None, [declared modules])] for every target in Package.swift, in order."""
    text = strip_swift_comments(text)
    targets, covered_until = [], -1
    for m in re.finditer(r"\.(" + "|".join(TARGET_KINDS) + r")\s*\(", text):
        if m.start() < covered_until:
            continue  # a `.target(name:)` inside another target's dependency list
        open_at = m.end() - 1
        close_at = balanced(text, open_at, "(", ")")
        items = top_level_items(text[open_at + 1:close_at - 1])
        name = argument(items, "name")
        if name is None:
            continue
        covered_until = close_at
        name = string_literal(name, "a target name")
        path = argument(items, "path")
        deps_value = argument(items, "dependencies")
        deps = []
        if deps_value is not None:
            if not deps_value.startswith("["):
                raise PackageError(f"Package.swift: dependencies of {name} are not an array literal")
            end = balanced(deps_value, 0, "[", "]")
            deps = [dependency_module(d, name) for d in top_level_items(deps_value[1:end - 1])]
        if any(t[1] == name for t in targets):
            raise PackageError(f"Package.swift: two targets named {name}")
        targets.append((m.group(1), name, string_literal(path, f"the path of {name}") if path else None, deps))
    return targets


IMPORT_RE = re.compile(
    r"^[ \t]*((?:@[A-Za-z_]+(?:\([^)]*\))?[ \t]+)*)import[ \t]+"
    r"(?:(?:typealias|struct|class|enum|protocol|let|var|func|actor)[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)",
    re.M)


def swift_imports(directory):
    """{module: [files]} imported by the .swift files under `directory`, and the files with `@_exported`."""
    imports, exported = {}, []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.endswith(".swift"):
                continue
            path = os.path.join(root, f)
            with open(path, encoding="utf-8") as h:
                text = strip_swift_comments(h.read(), blank_strings=True)
            for m in IMPORT_RE.finditer(text):
                attributes, module = m.group(1), m.group(2)
                if "@_exported" in attributes:
                    exported.append(path)
                imports.setdefault(module, []).append(path)
    return imports, exported


def architecture_table(text):
    """{module: set of imports} from the `| module | imports | why |` table of docs/ARCHITECTURE.md."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 3 or set(cells[0]) <= {"-", " ", ":"}:
            continue
        names = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cells[0])
        if not names:
            continue  # the header row
        imports = set() if cells[1] in ("—", "-", "") else {x.strip().strip("`") for x in cells[1].split(",")}
        for name in names:
            if name in rows:
                rows[name] = None  # listed twice: reported below
            else:
                rows[name] = imports
    return rows


def check(root):
    problems = []
    with open(os.path.join(root, "Package.swift"), encoding="utf-8") as h:
        targets = parse_package(h.read())
    names = {t[1] for t in targets}
    executables = {t[1] for t in targets if t[0] == "executableTarget"}
    products = set()
    for _, _, _, deps in targets:
        products.update(d for d in deps if d not in names)
    lines = []
    for kind, name, path, deps in targets:
        if kind in ("systemLibrary", "binaryTarget", "plugin"):
            lines.append(f"{name}: system library")
            continue
        directory = os.path.join(root, path or ("Tests/" if kind == "testTarget" else "Sources/") + name)
        if not os.path.isdir(directory):
            problems.append(f"{name}: no source folder {os.path.relpath(directory, root)}")
            continue
        imported, exported = swift_imports(directory)
        for f in exported:
            problems.append(f"{name}: @_exported import in {os.path.relpath(f, root)} (import and declare what you use)")
        used = {m for m in imported if m not in PLATFORM_MODULES and m != name}
        for module in sorted(used - set(deps)):
            where = ", ".join(sorted({os.path.relpath(f, root) for f in imported[module]})[:3])
            if module in names or module in products:
                problems.append(f"{name}: imports {module} ({where}) but Package.swift does not declare it")
            else:
                problems.append(f"{name}: imports unknown module {module} ({where})")
        has_swift = any(f.endswith(".swift") for _, _, fs in os.walk(directory) for f in fs)
        for module in sorted(set(deps) - used - executables):
            if has_swift:
                problems.append(f"{name}: Package.swift declares {module} but no file of {name} imports it")
        duplicates = sorted({d for d in deps if deps.count(d) > 1})
        for d in duplicates:
            problems.append(f"{name}: Package.swift declares {d} twice")
        lines.append(f"{name}: " + (", ".join(sorted(used)) if used else "—"))

    arch_path = os.path.join(root, "docs", "ARCHITECTURE.md")
    with open(arch_path, encoding="utf-8") as h:
        table = architecture_table(h.read())
    library = [(n, d) for k, n, p, d in targets if k != "testTarget" and not (p or "").startswith("Tests")]
    for name, deps in library:
        if name not in table:
            problems.append(f"docs/ARCHITECTURE.md: no row for module {name}")
        elif table[name] is None:
            problems.append(f"docs/ARCHITECTURE.md: module {name} has more than one row")
        elif table[name] != set(deps):
            extra, missing = sorted(table[name] - set(deps)), sorted(set(deps) - table[name])
            problems.append(f"docs/ARCHITECTURE.md: {name} lists " + ", ".join(
                ([f"{', '.join(extra)} (not in Package.swift)"] if extra else [])
                + ([f"not {', '.join(missing)} (in Package.swift)"] if missing else [])))
    for name in sorted(set(table) - {n for n, _ in library}):
        problems.append(f"docs/ARCHITECTURE.md: row for {name}, which is no library target of Package.swift")
    return lines, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."),
                        help="repository root (default: the parent of scripts/)")
    parser.add_argument("--quiet", action="store_true", help="print only the differences")
    args = parser.parse_args()
    try:
        lines, problems = check(os.path.abspath(args.root))
    except (OSError, PackageError, UnicodeDecodeError) as error:
        print(f"check-imports: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        for line in lines:
            print(line)
    for p in problems:
        print("check-imports: " + p, file=sys.stderr)
    if problems:
        print(f"check-imports: {len(problems)} difference(s) between the imports, Package.swift and docs/ARCHITECTURE.md",
              file=sys.stderr)
        return 1
    print(f"check-imports: {len(lines)} targets: every import is declared, every dependency imported, "
          "docs/ARCHITECTURE.md matches Package.swift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
