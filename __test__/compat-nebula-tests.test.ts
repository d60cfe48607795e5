// scripts/nebula-tests.mjs (npm run test:nebula) points nebula-engine's own imports at this
// package and leaves third-party ones alone. The run itself needs nebula's sources: a developer
// tool, not part of this suite.
import { describe, expect, it } from 'vitest'
import { rewriteImports } from '../scripts/nebula-tests.mjs'

describe('nebula-tests: rewriteImports', () => {
  it('points every relative import (static, dynamic, require, side effect) at the entry; packages stay', () => {
    const source = [
      'import { describe, expect, it } from "vitest";',
      'import { z } from "zod";',
      'import { html } from "hono/html";',
      'import * as ejson from "ejson";',
      'import { Testing } from "../../core/testing";',
      "import { Cache, CachePlugin } from './index';",
      'import {',
      '  ConcurrencyLock,',
      '} from "./index";',
      'import "./setup";',
      'const { Cache: C } = await import("../plugins/cache");',
      'const Redis = require("ioredis");',
      'const local = require("../cache");',
    ].join('\n')
    const { text, replaced } = rewriteImports(source, '../../../index.js')
    expect(replaced).toEqual(['../../core/testing', './index', './index', './setup', '../plugins/cache', '../cache'])
    expect(text).toBe(
      [
        'import { describe, expect, it } from "vitest";',
        'import { z } from "zod";',
        'import { html } from "hono/html";',
        'import * as ejson from "ejson";',
        'import { Testing } from "../../../index.js";',
        "import { Cache, CachePlugin } from '../../../index.js';",
        'import {',
        '  ConcurrencyLock,',
        '} from "../../../index.js";',
        'import "../../../index.js";',
        'const { Cache: C } = await import("../../../index.js");',
        'const Redis = require("ioredis");',
        'const local = require("../../../index.js");',
      ].join('\n'),
    )
  })
})
