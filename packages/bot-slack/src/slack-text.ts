/**
 * Text as Slack must receive it to show it literally: `&`, `<` and `>` as entities (Slack's
 * "Escaping text" rule for mrkdwn), so that `<!channel>`, `<@U…>` or `<https://…|label>` inside a
 * name or any other value never becomes a mention or a link. Every text the bot sends goes through
 * it once, where it is sent.
 */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
