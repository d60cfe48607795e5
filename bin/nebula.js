#!/usr/bin/env node
'use strict'

// nebula: start, stop, restart, status, reload and check a service described
// by nebula.config.json. `nebula --help` for usage; see README "Config file and CLI".

require('../lib/cli/main').run(process.argv.slice(2))
