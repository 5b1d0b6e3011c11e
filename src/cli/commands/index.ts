// The list of commands, in the order `mlscope --help` shows them. Each command lives in its own file.

import type { Command } from '../command.js';
import { pcapCommand } from './pcap.js';

export const commands: Command[] = [pcapCommand];
