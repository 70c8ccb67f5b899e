#!/usr/bin/env node
import { runLab } from './program.js';

process.exitCode = await runLab(process.argv.slice(2));
