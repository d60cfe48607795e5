/// <reference path="./types.d.ts" />
// Hub events in scripts (the engine has a HubPlugin): greet each connection,
// answer "shout" messages, and filter "chat" before TypeScript handles it.
onWsConnect((e) => {
  log.info("connected", e.client.id);
  return e.next();
});

// biome-ignore lint/complexity/useOptionalChain: `e.data?.text` would turn a null message into "UNDEFINED" instead of "NULL".
onWsMessage("shout", (e) => e.reply({ text: String(e.data && e.data.text).toUpperCase() }));

onWsMessage("chat", (e) => {
  // biome-ignore lint/complexity/useOptionalChain: kept like "shout" above (`String(null)` is "null", `String(undefined)` "undefined").
  if (String(e.data && e.data.text).includes("spam")) return e.error(2001, "no spam here");
  return e.next(); // on to engine.hub.on("chat", …) in main.ts
});
