// Shared code, loaded with require() from hook files (not a hook file itself).
module.exports = {
  normalize(text) {
    return String(text).trim().replace(/\s+/g, " ");
  },
};
