/**
 * The macOS and Windows service definitions, checked here where neither OS
 * runs: the launchd property list is read back by Python's plistlib (as
 * launchd would read it: paths with spaces and XML's special characters
 * intact), WinSW's XML by an XML parser, and the sc.exe command lines are
 * the ones the service manager expects (`name=` then the value as its own
 * word). Not run: launchctl, WinSW and sc.exe themselves (README).
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchdCommands, launchdPlist, LAUNCHD_LABEL } from '../../electron/service/system/launchd-plist.js';
import { scCommands, windowsArg, winswXml } from '../../electron/service/system/windows-service.js';
import { python } from '../helpers/python.js';

const MAC = {
  node: '/usr/local/bin/node',
  program: '/Applications/POP3 Service & Co <beta>.app/Contents/Resources/app.asar.unpacked/bin/pop3svc.js',
  configFile: '/Library/Application Support/winpop/config.json',
  logFile: '/Library/Logs/winpop/pop3svc.log',
};

test('the launchd plist is a valid property list that runs pop3svc at boot and again after a failure', async () => {
  for (const options of [MAC, { ...MAC, user: '_winpop' }]) {
    const [plist] = await python<Record<string, unknown>>(
      `
import plistlib
print(json.dumps(plistlib.loads(ARGS['plist'].encode('utf-8'))))
`,
      { plist: launchdPlist(options) },
    );
    assert.ok(plist, 'plistlib read nothing');
    assert.equal(plist.Label, LAUNCHD_LABEL);
    assert.deepEqual(plist.ProgramArguments, [MAC.node, MAC.program, '--config', MAC.configFile]);
    assert.equal(plist.RunAtLoad, true);
    assert.deepEqual(plist.KeepAlive, { SuccessfulExit: false });
    assert.equal(plist.StandardOutPath, MAC.logFile);
    assert.equal(plist.StandardErrorPath, MAC.logFile);
    assert.equal(plist.UserName, 'user' in options ? options.user : undefined);
  }
  const { install, uninstall } = launchdCommands();
  assert.deepEqual(install[0], ['launchctl', 'bootstrap', 'system', `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`]);
  assert.deepEqual(uninstall[0], ['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`]);
});

const WIN = {
  node: 'C:\\Program Files\\nodejs\\node.exe',
  program: 'C:\\Program Files\\POP3 Service\\resources\\app.asar.unpacked\\bin\\pop3svc.js',
  configFile: 'C:\\ProgramData\\winpop\\config.json',
  wrapper: 'C:\\ProgramData\\winpop\\service\\winpop.exe',
  logDir: 'C:\\ProgramData\\winpop\\logs',
  dataDir: 'C:\\ProgramData\\winpop',
};

test('arguments are quoted as the Microsoft C runtime splits them', () => {
  assert.equal(windowsArg('C:\\ProgramData\\winpop\\config.json'), 'C:\\ProgramData\\winpop\\config.json');
  assert.equal(windowsArg('C:\\Program Files\\x.js'), '"C:\\Program Files\\x.js"');
  // Backslashes before the closing quote are doubled, or the quote would be taken literally.
  assert.equal(windowsArg('C:\\dir with space\\'), '"C:\\dir with space\\\\"');
  assert.equal(windowsArg('say "hi"'), '"say \\"hi\\""');
  assert.equal(windowsArg(''), '""');
});

test("WinSW's XML names node, pop3svc and its config; the sc.exe lines register it as LocalService, at boot, restarted on failure", async () => {
  const [service] = await python<Record<string, string>>(
    `
import xml.etree.ElementTree as ET
root = ET.fromstring(ARGS['xml'])
assert root.tag == 'service'
print(json.dumps({child.tag: (child.text or '') for child in root}))
`,
    { xml: winswXml(WIN) },
  );
  assert.ok(service);
  assert.equal(service.id, 'winpop');
  assert.equal(service.executable, WIN.node);
  assert.equal(service.arguments, `"${WIN.program}" --config ${WIN.configFile}`);
  assert.equal(service.logpath, WIN.logDir);

  const { install, uninstall } = scCommands(WIN);
  const create = install.find((c) => c[1] === 'create');
  assert.ok(create, 'no sc.exe create');
  const option = (command: string[], name: string): string | undefined => command[command.indexOf(`${name}=`) + 1];
  assert.equal(option(create, 'binPath'), WIN.wrapper, 'the service program is WinSW, which speaks to the service manager');
  assert.equal(option(create, 'start'), 'auto');
  assert.equal(option(create, 'obj'), 'NT AUTHORITY\\LocalService');
  const failure = install.find((c) => c[1] === 'failure');
  assert.ok(failure && /^restart\//.test(option(failure, 'actions') ?? ''), 'no restart on failure');
  const grant = install.find((c) => c[0] === 'icacls');
  assert.deepEqual(grant, ['icacls', WIN.dataDir, '/grant', 'NT AUTHORITY\\LocalService:(OI)(CI)M']);
  assert.ok(install.indexOf(grant) < install.indexOf(create), 'LocalService must be able to write its folder before the service starts');
  assert.deepEqual(install.at(-1), ['sc.exe', 'start', 'winpop']);
  assert.deepEqual(uninstall, [
    ['sc.exe', 'stop', 'winpop'],
    ['sc.exe', 'delete', 'winpop'],
  ]);
});
