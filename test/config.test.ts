// Configuration is read in one place; mistakes name the setting and how to fix it, and never echo a secret.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { AppError } from '../src/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'fg-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function configError(env: Record<string, string | undefined>): AppError {
  try {
    loadConfig({ env });
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('has working defaults with an empty environment', () => {
    const config = loadConfig({ env: {} });
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
    expect(config.workerConcurrency).toBe(4);
    expect(config.demoData).toBe(true);
    expect(path.isAbsolute(config.dataDir)).toBe(true);
  });

  it('reads the environment and converts the types', () => {
    const config = loadConfig({
      env: {
        PORT: '9001',
        HOST: '0.0.0.0',
        DATABASE_URL: 'postgresql://app:pw@db.internal:5432/funnelgate',
        FUNNELGATE_DEMO_DATA: 'false',
        FUNNELGATE_DATA_DIR: 'relative/data',
      },
    });
    expect(config.port).toBe(9001);
    expect(config.host).toBe('0.0.0.0');
    expect(config.databaseUrl).toBe('postgresql://app:pw@db.internal:5432/funnelgate');
    expect(config.demoData).toBe(false);
    expect(config.dataDir).toBe(path.resolve('relative/data'));
  });

  it('rejects a port that is not a number, naming PORT', () => {
    const error = configError({ PORT: 'abc' });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('PORT');
    expect(error.message).toMatch(/whole number/);
  });

  it('rejects a database URL that is not PostgreSQL, saying what it should look like', () => {
    const error = configError({ DATABASE_URL: 'mysql://root:hunter2@localhost:3306/app' });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).toContain('postgres://');
    // The password in the rejected URL does not leak into the error.
    expect(JSON.stringify(error.details)).not.toContain('hunter2');
  });

  it('reads a YAML config file named by FUNNELGATE_CONFIG, and the environment wins over it', () => {
    const file = configFile(
      'funnelgate.yaml',
      ['port: 9100', 'host: 0.0.0.0', 'logLevel: debug', 'workerConcurrency: 8', ''].join('\n'),
    );
    const fromFile = loadConfig({ env: { FUNNELGATE_CONFIG: file } });
    expect(fromFile.port).toBe(9100);
    expect(fromFile.host).toBe('0.0.0.0');
    expect(fromFile.logLevel).toBe('debug');
    expect(fromFile.workerConcurrency).toBe(8);

    const envWins = loadConfig({ env: { FUNNELGATE_CONFIG: file, PORT: '9200', LOG_LEVEL: 'warn' } });
    expect(envWins.port).toBe(9200);
    expect(envWins.logLevel).toBe('warn');
    expect(envWins.host).toBe('0.0.0.0');
  });

  it('rejects an unknown key in the config file, naming it', () => {
    const file = configFile('typo.yaml', 'port: 9100\nworkerConcurency: 8\n');
    const error = configError({ FUNNELGATE_CONFIG: file });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('workerConcurency');
    expect(error.message).toContain(file);
  });

  it('says when the config file cannot be read', () => {
    const error = configError({ FUNNELGATE_CONFIG: path.join(dir, 'missing.yaml') });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('missing.yaml');
  });

  it('never echoes the bootstrap token in an error', () => {
    const secret = 'short-but-secret-token';
    const error = configError({ FUNNELGATE_BOOTSTRAP_TOKEN: secret });
    expect(error.code).toBe('config_invalid');
    expect(error.message).toContain('FUNNELGATE_BOOTSTRAP_TOKEN');
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error.details)).not.toContain(secret);
    expect(JSON.stringify(error.details)).toContain('[redacted]');

    const fromFile = configFile('token.yaml', `bootstrapToken: "${secret} with spaces"\n`);
    const fileError = configError({ FUNNELGATE_CONFIG: fromFile });
    expect(fileError.message).not.toContain(secret);
    expect(JSON.stringify(fileError.details)).not.toContain(secret);
  });
});
