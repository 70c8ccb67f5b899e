import { builtinPlugins } from '@lab/commands';

/**
 * A reply's chat command references as a CLI user types them: `/myvm start` → `lab myvm start`,
 * `/lab deploy cs101` → `lab deploy cs101`. Only the names of `plugins` are rewritten, and only
 * where a command starts (after a space, a quote or a bracket), so paths and URLs are left alone.
 */
export function asCliWording(text: string, plugins: readonly string[] = builtinPlugins.map((p) => p.name)): string {
  const names = plugins.map((p) => p.replace(/[^a-z0-9-]/g, '')).filter(Boolean);
  if (!names.length) return text;
  const reference = new RegExp(`(^|[\\s(\`"'“])/(${names.join('|')})(?=[\\s\`"'”.,;:)]|$)`, 'gm');
  return text.replace(
    reference,
    (_, before: string, name: string) => `${before}lab${name === 'lab' ? '' : ` ${name}`}`,
  );
}
