import os from 'node:os';

/**
 * Facts about this machine that make two runs comparable or not: kernel (`os.release()`), CPU
 * model, core count and hostname. `eventix results push` records them when the pushed file does
 * not say; the API records only what it is given, since the server is not the benchmark machine.
 */
export function machineEnvironment(): { kernel: string; cpu_model: string | null; cores: number; hostname: string } {
  const cpus = os.cpus();
  return {
    kernel: os.release(),
    cpu_model: cpus[0]?.model.trim() || null,
    cores: cpus.length || os.availableParallelism(),
    hostname: os.hostname(),
  };
}
