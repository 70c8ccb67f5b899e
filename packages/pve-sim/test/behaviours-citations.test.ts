import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(packageDir, path), 'utf8');

/** Sections (`## J. …`) and their numbered items (`1.`, `17a.`) of BEHAVIOURS.md, as `J` and `J.1`. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let section: string | undefined;
  for (const line of markdown.split('\n')) {
    const heading = /^## ([A-Z])\. /.exec(line);
    if (heading) {
      section = heading[1]!;
      anchors.add(section);
      continue;
    }
    const item = /^(\d+[a-z]?)\. /.exec(line);
    if (item && section) anchors.add(`${section}.${item[1]}`);
  }
  return anchors;
}

/** Every `§X`, `§X.n`, `§Xn` and `§Xn–Xm` in `text` that BEHAVIOURS.md does not have (RFC `§7.2` is not ours). */
function unresolvedCitations(text: string, anchors: Set<string>): string[] {
  const missing: string[] = [];
  for (const m of text.matchAll(/§([A-Z])\.?(\d+[a-z]?)?(?:[–-]([A-Z])\.?(\d+[a-z]?))?(?![A-Za-z0-9])/g)) {
    const [cited, section, from, toSection, to] = m as unknown as [string, string, string?, string?, string?];
    const wanted = [from === undefined ? section : `${section}.${from}`];
    if (to !== undefined) wanted.push(`${toSection ?? section}.${to}`);
    if (wanted.some((anchor) => !anchors.has(anchor))) missing.push(cited);
  }
  return missing;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(packageDir, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('BEHAVIOURS.md citations', () => {
  const anchors = anchorsOf(read('BEHAVIOURS.md'));

  it('has the sections the README and sources cite, A–I numbered on from the shared reference', () => {
    for (const section of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'T', 'O', 'P', 'S']) {
      expect(anchors, section).toContain(section);
    }
    expect(anchors).toContain('I.28');
    expect(anchors).toContain('D.17a');
    expect(anchors).not.toContain('A.4');
  });

  it('reports a citation with no heading or item behind it', () => {
    expect(unresolvedCitations('see §T1, §I.28, §J1–J2, §A–§I and RFC 6143 §7.2.2', anchors)).toEqual([]);
    expect(unresolvedCitations('see §T99, §Q, §I.3, §J1–J9', anchors)).toEqual(['§T99', '§Q', '§I.3', '§J1–J9']);
  });

  it('resolves every § citation of the package README', () => {
    expect(unresolvedCitations(read('README.md'), anchors)).toEqual([]);
  });

  it('resolves every § citation in the sources', () => {
    const missing = sourceFiles('src').flatMap((file) =>
      unresolvedCitations(read(file), anchors).map((cited) => `${file}: ${cited}`),
    );
    expect(missing).toEqual([]);
  });

  it('links the package file and names no path outside the package', () => {
    const readme = read('README.md');
    expect(readme).toContain('[BEHAVIOURS.md](BEHAVIOURS.md)');
    expect(readme).not.toMatch(/\.\.\/shared|shared\/pve/);
    expect(read('BEHAVIOURS.md')).not.toMatch(/\.\.\/shared|shared\/pve/);
  });
});
