import { loadConfig } from '../proxy/config/load-config.ts';
import { runProxy } from '../proxy/cli/run-proxy.ts';
import { createLogger } from '../proxy/log.ts';
import { answerCpuProfile } from './cpu-profile.ts';
import { answerGcPauses } from './gc-pauses.ts';

/**
 * Child process: the proxy as `strangler proxy --config <file>` runs it (same config load, logger
 * and listen), except that it reports its URL over IPC: at log level warn there is no log line
 * to read it from.
 */
const config = await loadConfig(process.argv[2]);
const running = await runProxy(config, createLogger(config.log.level));
process.send!({ url: running.url });
process.on('disconnect', () => process.exit(0));
answerGcPauses();
answerCpuProfile();
