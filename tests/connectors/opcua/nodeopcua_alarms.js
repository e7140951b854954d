// A second OPC UA stack raising real Alarms & Conditions (node-opcua), for the A&C client tests.
// Usage: node nodeopcua_alarms.js PORT — prints "READY opc.tcp://127.0.0.1:PORT", then reads commands on stdin,
// one per line, and answers each with one JSON line:
//   raise CODE SEVERITY TEXT   the alarm becomes active (unacknowledged, unconfirmed) with that message (ko-KR)
//   clear                      back to normal (retained until acknowledged and confirmed)
//   state                      {"active", "acked", "confirmed", "retain", "calls", "comments"}
//   set VALUE                  OilPressure := VALUE (historized; answers {"time": source timestamp})
//   drop / resume              close every client connection and stop listening / listen again (an outage)
//   stop                       exit
"use strict";
const readline = require("readline");
const opcua = require("node-opcua");

const port = Number(process.argv[2]);

(async () => {
  const server = new opcua.OPCUAServer({ port, hostname: "127.0.0.1", alternateHostname: ["127.0.0.1"],
    nodeset_filename: [opcua.nodesets.standard], buildInfo: { productName: "factorypilot A&C test plant" } });
  await server.initialize();
  const aspace = server.engine.addressSpace;
  aspace.installAlarmsAndConditionsService();  // binds ConditionRefresh, Acknowledge, Confirm ...
  const ns = aspace.registerNamespace("urn:factorypilot:test:alarms");
  const serverObj = aspace.rootFolder.objects.server;
  const line = ns.addObject({ browseName: "PressLine1", nodeId: "s=PressLine1", organizedBy: aspace.rootFolder.objects,
    eventSourceOf: serverObj });
  const pressure = ns.addVariable({ componentOf: line, browseName: "OilPressure", nodeId: "s=PressLine1.OilPressure",
    dataType: "Double", value: { dataType: opcua.DataType.Double, value: 5.2 } });
  aspace.installHistoricalDataNode(pressure);  // node-opcua's in-memory historian
  const alarm = ns.instantiateAlarmCondition("AlarmConditionType", {
    browseName: "LubeAlarm", nodeId: "s=PressLine1.LubeAlarm", componentOf: line, conditionSource: line,
    conditionName: "PressLine1.LubeAlarm", inputNode: pressure, optionals: ["ConfirmedState", "Confirm"],
  });
  alarm.setEnabledState(true);
  const log = { calls: 0, comments: [] };
  for (const name of ["acknowledged", "confirmed"]) {
    alarm.on(name, (eventId, comment) => {
      log.calls += 1;
      log.comments.push([name === "acknowledged" ? "acknowledge" : "confirm", comment ? comment.text : ""]);
    });
  }
  await server.start();
  console.log(`READY opc.tcp://127.0.0.1:${port}`);

  const id = (state) => state.getValue ? state.getValue() : state.id.readValue().value.value;
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (raw) => {
    const [cmd, ...rest] = raw.trim().split(" ");
    try {
      if (cmd === "raise") {
        const [code, severity, ...text] = rest;
        alarm.activateAlarm();
        alarm.currentBranch().setConfirmedState(false);
        alarm.raiseNewCondition({ message: new opcua.LocalizedText({ text: `${text.join(" ")} (코드 ${code})`,
          locale: "ko-KR" }), severity: Number(severity), retain: true });
      } else if (cmd === "clear") {
        alarm.deactivateAlarm(true);
        alarm.raiseNewCondition({ message: new opcua.LocalizedText({ text: "정상 복귀 / back to normal",
          locale: "ko-KR" }), severity: 100, retain: true });
      } else if (cmd === "set") {
        const when = new Date();
        pressure.setValueFromSource({ dataType: opcua.DataType.Double, value: Number(rest[0]) },
          opcua.StatusCodes.Good, when);
        console.log(JSON.stringify({ ok: true, time: when.toISOString() }));
        return;
      } else if (cmd === "drop" || cmd === "resume") {
        const done = () => console.log(JSON.stringify({ ok: true }));
        if (cmd === "resume") {
          server.resumeEndPoints().then(done);
          return;
        }
        // killClientSockets() does nothing on node-opcua 2.186 (the channel's transport is a private #field, so
        // its `transport._socket` is undefined): the client kept its socket and never saw an outage.
        // abruptlyInterruptChannels() reaches the socket through the channel itself.
        server.suspendEndPoints().then(done);  // stop listening first, so the client cannot come straight back
        for (const ep of server.endpoints) ep.abruptlyInterruptChannels();
        return;
      } else if (cmd === "stop") {
        server.shutdown(0).then(() => process.exit(0));
        return;
      }
      const b = alarm.currentBranch();
      console.log(JSON.stringify({ ok: true, active: b.getActiveState(), acked: b.getAckedState(),
        confirmed: b.getConfirmedState(), retain: b.getRetain(), calls: log.calls, comments: log.comments }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, error: String(err && err.stack || err) }));
    }
  });
  rl.on("close", () => server.shutdown(0).then(() => process.exit(0)));
})().catch((err) => { console.error(err); process.exit(1); });
