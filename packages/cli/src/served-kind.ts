/** What `lab serve` can run: a chat bot or the web portal. */
export type ServedKind = 'slack' | 'discord' | 'web';
