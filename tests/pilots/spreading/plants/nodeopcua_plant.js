// Serves a foreign plant described in a JSON file (see plant_*.json) with node-opcua: another OPC UA stack
// than the asyncua the project is built on. Usage: node nodeopcua_plant.js PLANT.json PORT [OPTIONS-JSON]
// Prints "READY opc.tcp://127.0.0.1:PORT" once the server listens; stops on SIGTERM or when stdin closes.
// A line "SET <id> <json value>" on stdin sets a variable as the plant would (a fault); "OK <id>" answers.
// OPTIONS (all optional):
//   users: {name: {password, role}}  real logins; role Operator may write and call, Observer only reads;
//                                    with users, anonymous sessions and Observers cannot write (RolePermissions)
//   pki: folder                      the server's own PKI (certificate, trusted/ and rejected/ client certs)
//   trust_clients: false             refuse client certificates nobody trusted (a plant's normal setting)
"use strict";
const fs = require("fs");
const opcua = require("node-opcua");

const plant = JSON.parse(fs.readFileSync(process.argv[2], "utf-8"));
const port = Number(process.argv[3]);
const options = process.argv[4] ? JSON.parse(process.argv[4]) : {};
const P = opcua.PermissionType;
const READ_ONLY = P.Browse | P.Read | P.ReadRolePermissions;
const OPERATE = READ_ONLY | P.Write | P.Call;
const DT = { Double: opcua.DataType.Double, Int32: opcua.DataType.Int32, Boolean: opcua.DataType.Boolean,
             String: opcua.DataType.String, LocalizedText: opcua.DataType.LocalizedText };
// plant.nodesets (e.g. ["di", "ia", "machinery", "robotics"]): companion specifications loaded into the server;
// an object "type" or variable "vtype" then names the real type definition (OPC 40010 MotionDeviceType ...)

function unitId(code) {
  let id = 0;
  for (const ch of code.toUpperCase().slice(0, 3)) id = (id << 8) | ch.charCodeAt(0);
  return id;
}

function localized(display, fallback) {
  if (display && display.ko) return new opcua.LocalizedText({ text: display.ko, locale: "ko-KR" });
  return new opcua.LocalizedText({ text: fallback, locale: "en-US" });
}

(async () => {
  const users = options.users || null;
  const extra = {};
  if (users) {
    extra.userManager = {
      isValidUser: (name, password) => Boolean(users[name]) && users[name].password === password,
      getUserRoles: (name) => opcua.makeRoles(users[name] && users[name].role === "Operator"
        ? [opcua.WellKnownRoles.AuthenticatedUser, opcua.WellKnownRoles.Operator]
        : [opcua.WellKnownRoles.AuthenticatedUser, opcua.WellKnownRoles.Observer]),
    };
  }
  if (options.pki) {
    extra.serverCertificateManager = new opcua.OPCUACertificateManager({ rootFolder: options.pki,
      automaticallyAcceptUnknownCertificate: options.trust_clients !== false });
    await extra.serverCertificateManager.initialize();
  }
  const server = new opcua.OPCUAServer({ port, hostname: "127.0.0.1", alternateHostname: ["127.0.0.1"],
    nodeset_filename: [opcua.nodesets.standard, ...(plant.nodesets || []).map((n) => opcua.nodesets[n])], buildInfo: { productName: plant.name }, ...extra });
  await server.initialize();
  const aspace = server.engine.addressSpace;
  const ns = aspace.registerNamespace(plant.namespace);
  // the plant's own numeric ids start at 1000 too: let node-opcua number its helper nodes far above them
  if (ns._nodeIdManager) ns._nodeIdManager._internal_id_counter = 900000;
  const values = {};      // id -> current value
  const vars = {};        // id -> UAVariable
  const types = {};
  const noisy = [];
  const pinned = new Set();
  let tick = 0;

  function standardType(name, find) {   // a type the loaded nodesets define (any namespace), or null
    for (let i = 0; i < aspace.getNamespaceArray().length; i++) {
      const t = find.call(aspace, name, i);
      if (t) return t;
    }
    return null;
  }

  function objectType(name) {
    if (!name || name === "Folder") return null;
    if (!types[name]) types[name] = standardType(name, aspace.findObjectType)
      || ns.addObjectType({ browseName: name, nodeId: `ns=${ns.index};s=Types.${name}` });
    return types[name];
  }

  function wrap(type, value) {
    return type === "LocalizedText" ? new opcua.LocalizedText({ text: value, locale: "en" }) : value;
  }

  function addVariable(parent, v) {
    values[v.id] = v.value;
    const opts = {
      componentOf: parent, nodeId: `ns=${ns.index};${v.id}`, browseName: v.browse,
      displayName: localized(v.display, v.browse), description: v.description || undefined,
      dataType: v.type, minimumSamplingInterval: 100,
      accessLevel: v.writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      userAccessLevel: v.writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      rolePermissions: users && v.writable ? [
        { roleId: opcua.WellKnownRoles.Anonymous, permissions: READ_ONLY },
        { roleId: opcua.WellKnownRoles.AuthenticatedUser, permissions: READ_ONLY },
        { roleId: opcua.WellKnownRoles.Observer, permissions: READ_ONLY },
        { roleId: opcua.WellKnownRoles.Operator, permissions: OPERATE }] : undefined,
      value: {
        get: () => new opcua.Variant({ dataType: DT[v.type], value: wrap(v.type, values[v.id]) }),
        set: (variant) => { values[v.id] = variant.value; return opcua.StatusCodes.Good; },
      },
    };
    let node;
    if (v.vtype) {   // a variable type from the loaded nodesets (AnalogUnitType, TwoStateDiscreteType ...)
      node = ns.addVariable({ ...opts, typeDefinition: standardType(v.vtype, aspace.findVariableType) });
      if (v.unit) {
        const eu = ns.addVariable({ propertyOf: node, browseName: "EngineeringUnits", dataType: "EUInformation",
          typeDefinition: "PropertyType", minimumSamplingInterval: 0 });
        eu.setValueFromSource({ dataType: opcua.DataType.ExtensionObject,
          value: opcua.makeEUInformation(v.unit.code || "", v.unit.text || "", v.unit.text || "") });
      }
      if (v.range) {
        const r = ns.addVariable({ propertyOf: node, browseName: "EURange", dataType: "Range",
          typeDefinition: "PropertyType", minimumSamplingInterval: 0 });
        r.setValueFromSource({ dataType: opcua.DataType.ExtensionObject,
          value: new opcua.Range({ low: v.range[0], high: v.range[1] }) });
      }
    } else if (v.analog || v.range) {
      node = ns.addAnalogDataItem({ ...opts, engineeringUnitsRange: { low: (v.range || [0, 0])[0], high: (v.range || [0, 0])[1] },
        engineeringUnits: v.unit ? opcua.makeEUInformation(v.unit.code || "", v.unit.text || "", v.unit.text || "") : undefined });
      if (!v.range && node.euRange) { /* keep the declared default */ }
    } else {
      node = ns.addVariable(opts);
      if (v.unit) {
        const eu = ns.addVariable({ propertyOf: node, browseName: "EngineeringUnits", dataType: "EUInformation",
          typeDefinition: "PropertyType", minimumSamplingInterval: 0 });
        eu.setValueFromSource({ dataType: opcua.DataType.ExtensionObject,
          value: opcua.makeEUInformation(v.unit.code || "", v.unit.text || "", v.unit.text || "") });
      }
    }
    vars[v.id] = node;
    if (v.noise) noisy.push(v);
    if (v.count) noisy.push({ ...v, counter: true });
  }

  function addMethod(parent, m) {
    const method = ns.addMethod(parent, {
      nodeId: `ns=${ns.index};${m.id}`, browseName: m.browse, displayName: localized(m.display, m.browse),
      description: m.description,
      inputArguments: m.inputs.map((a) => ({ name: a.name, dataType: DT[a.type], description: { text: a.description || "" } })),
      outputArguments: [],
    });
    method.bindMethod((inputArguments, context, callback) => {
      const eff = m.effect || {};
      for (const [id, value] of Object.entries(eff.set || {})) values[id] = value;
      if (eff.arg_to) values[eff.arg_to] = inputArguments[0].value;
      callback(null, { statusCode: opcua.StatusCodes.Good, outputArguments: [] });
    });
  }

  function addObject(parent, o) {
    const type = objectType(o.type);
    const opts = { nodeId: `ns=${ns.index};${o.id}`, browseName: o.browse, displayName: localized(o.display, o.browse) };
    const inFolder = parent.typeDefinitionObj && parent.typeDefinitionObj.browseName.name === "FolderType";
    const node = ns.addObject({ ...opts, typeDefinition: type || "FolderType",
                                ...(inFolder ? { organizedBy: parent } : { componentOf: parent }) });
    for (const v of o.variables || []) addVariable(node, v);
    for (const m of o.methods || []) addMethod(node, m);
    for (const c of o.children || []) addObject(node, c);
  }

  for (const o of plant.objects) addObject(aspace.rootFolder.objects, o);
  setInterval(() => {   // deterministic "noise": a slow triangle around the nominal value; counters count
    tick += 1;
    for (const v of noisy) {
      if (pinned.has(v.id)) continue;
      if (v.counter) { values[v.id] += 1; continue; }
      const phase = ((tick % 8) - 4) / 4;
      values[v.id] = v.value + v.noise * phase;
    }
  }, 100);
  await server.start();
  process.stdout.write(`READY opc.tcp://127.0.0.1:${port}\n`);
  const stop = async () => { await server.shutdown(0); process.exit(0); };
  process.on("SIGTERM", stop);
  process.stdin.on("end", stop);
  require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
    const m = /^SET (\S+) (.*)$/.exec(line.trim());
    if (!m) return;
    values[m[1]] = JSON.parse(m[2]);
    pinned.add(m[1]);   // the noise no longer moves a value the test set
    process.stdout.write(`OK ${m[1]}\n`);
  });
})().catch((err) => { process.stderr.write(String(err && err.stack || err) + "\n"); process.exit(1); });
