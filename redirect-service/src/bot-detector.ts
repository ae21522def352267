// Link unfurlers and crawlers fetch a short link when it is pasted or indexed, not when a
// person follows it; their clicks are counted apart. Only self-declared bots are matched:
// curl, wget and scripts are tools people use, so they count as people.

// "bot" as a word ending covers Slackbot, Twitterbot, LinkedInBot, Discordbot, TelegramBot,
// Googlebot, bingbot, Applebot…; the rest are unfurlers whose names say nothing of the kind.
const DECLARED = /bot\b|crawler|spider|preview|slurp|facebookexternalhit|facebookcatalog|whatsapp|embedly|iframely|vkshare|mastodon|bluesky/i
// Handsets named CUBOT are people.
const NOT_BOTS = /\bcubot\b/i

export function isBot (userAgent: string | undefined): boolean {
  if (userAgent === undefined || userAgent === '') return false
  return DECLARED.test(userAgent) && !NOT_BOTS.test(userAgent)
}
