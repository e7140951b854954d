// Serves a foreign plant described in a JSON file (see plant_*.json) with node-opcua: another OPC UA stack
// than the asyncua the project is built on. Usage: node nodeopcua_plant.js PLANT.json PORT
// Prints "READY opc.tcp://127.0.0.1:PORT" once the server listens; stops on SIGTERM or when stdin closes.
"use strict";
const fs = require("fs");
const opcua = require("node-opcua");

const plant = JSON.parse(fs.readFileSync(process.argv[2], "utf-8"));
const port = Number(process.argv[3]);
const DT = { Double: opcua.DataType.Double, Int32: opcua.DataType.Int32, Boolean: opcua.DataType.Boolean,
             String: opcua.DataType.String };

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
  const server = new opcua.OPCUAServer({ port, hostname: "127.0.0.1", alternateHostname: ["127.0.0.1"],
    nodeset_filename: [opcua.nodesets.standard], buildInfo: { productName: plant.name } });
  await server.initialize();
  const aspace = server.engine.addressSpace;
  const ns = aspace.registerNamespace(plant.namespace);
  // the plant's own numeric ids start at 1000 too: let node-opcua number its helper nodes far above them
  if (ns._nodeIdManager) ns._nodeIdManager._internal_id_counter = 900000;
  const values = {};      // id -> current value
  const vars = {};        // id -> UAVariable
  const types = {};
  const noisy = [];
  let tick = 0;

  function objectType(name) {
    if (!name || name === "Folder") return null;
    if (!types[name]) types[name] = ns.addObjectType({ browseName: name, nodeId: `ns=${ns.index};s=Types.${name}` });
    return types[name];
  }

  function addVariable(parent, v) {
    values[v.id] = v.value;
    const opts = {
      componentOf: parent, nodeId: `ns=${ns.index};${v.id}`, browseName: v.browse,
      displayName: localized(v.display, v.browse), description: v.description || undefined,
      dataType: v.type, minimumSamplingInterval: 100,
      accessLevel: v.writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      userAccessLevel: v.writable ? "CurrentRead | CurrentWrite" : "CurrentRead",
      value: {
        get: () => new opcua.Variant({ dataType: DT[v.type], value: values[v.id] }),
        set: (variant) => { values[v.id] = variant.value; return opcua.StatusCodes.Good; },
      },
    };
    let node;
    if (v.analog || v.range) {
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
  process.stdin.resume();
})().catch((err) => { process.stderr.write(String(err && err.stack || err) + "\n"); process.exit(1); });
