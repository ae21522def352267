import { isbot } from 'isbot'

// Link unfurlers and crawlers fetch a short link when it is pasted or indexed, not when a
// person follows it; their clicks are counted apart. Which user agents are bots is isbot's
// maintained list (Slackbot, Twitterbot, facebookexternalhit, WhatsApp, Googlebot, headless
// browsers…; it already knows that a CUBOT handset is a person).
//
// Our one exception: curl, wget, HTTP libraries and load tools are tools people use, so they count
// as people as they always did here. isbot counts every one of them as a bot ("curl/8.5.0",
// "python-requests/2.32.0", Node's fetch "node", "k6/0.52.0"…), which would move the clicks of
// scripts, of the tests (Node's fetch; Fastify's inject, "lightMyRequest") and of the load tests
// (k6) to botClicks: isbot takes any user agent that is a bare name, or name/version, for a bot.
// Such a tool names itself first in its user agent; a crawler built on one names itself further on.
const PEOPLE_TOOLS = /^(?:curl|wget|httpie|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|node|undici|node-fetch|axios|got|(?:grafana )?k6|okhttp|java|libwww-perl|insomnia|postmanruntime|lightmyrequest)(?:[/ ]|$)/i

export function isBot (userAgent: string | undefined): boolean {
  if (userAgent === undefined || userAgent === '') return false
  return isbot(userAgent) && !PEOPLE_TOOLS.test(userAgent)
}
