/// <reference path="./types.d.ts" />
// Hub events in scripts (the engine has a HubPlugin): greet each connection,
// answer "shout" messages, and filter "chat" before TypeScript handles it.
onWsConnect((e) => {
  log.info("connected", e.client.id);
  return e.next();
});

onWsMessage("shout", (e) => e.reply({ text: String(e.data && e.data.text).toUpperCase() }));

onWsMessage("chat", (e) => {
  if (String(e.data && e.data.text).includes("spam")) return e.error(2001, "no spam here");
  return e.next(); // on to engine.hub.on("chat", …) in main.ts
});
