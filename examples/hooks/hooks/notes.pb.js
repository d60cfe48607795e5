/// <reference path="./types.d.ts" />
// A route with its own middleware and shared code from the hooks folder.
const { normalize } = require("./lib/text.js");

const needKey = (e) => {
  if (!e.request.header("x-key")) return e.json(401, { error: "no key" });
  return e.next();
};

routerAdd(
  "POST",
  "/api/notes",
  (e) => {
    const body = e.request.json();
    if (!body || typeof body.text !== "string") return e.json(400, { error: "text is required" });
    const note = { id: utils.uuid(), text: normalize(body.text) };
    events.emit("note", note);
    hub.broadcast("note", note); // to every WebSocket client of the hub
    return e.json(201, note);
  },
  needKey,
);
