"""``template map`` on a robot modelled after the OPC UA companion specifications: OPC 40010 Robotics
(MotionDeviceType, Axes/AxisN, PowerTrains/PowerTrainN/MotorN with ParameterSet/MotorTemperature as
AnalogUnitType) and OPC 40001 Machinery (MachineryItemState/CurrentState), plus the vendor's own fault tags.
The browse result is built here (paths, type definitions, units) as asyncua returns it; scoring is CPU only."""

from __future__ import annotations

from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spreading._equipment import layout_of
from factorypilot.pilots.spreading.mapping import PlantFacts, propose_mapping
from factorypilot.vocabulary import AssetPath, DataType, Limits, Tag

ROBOT = ["Cell1", "MotionDeviceSystem", "MotionDevices", "R1"]
CONTROLLER = ["Cell1", "MotionDeviceSystem", "Controllers", "RC1"]
TYPES = {"Cell1": "FolderType", "Cell1/MotionDeviceSystem": "MotionDeviceSystemType",
         "Cell1/MotionDeviceSystem/MotionDevices": "FolderType", "Cell1/MotionDeviceSystem/MotionDevices/R1":
         "MotionDeviceType", "Cell1/MotionDeviceSystem/Controllers/RC1": "ControllerType"}


def _tag(tid: str, path: list[str], name: str, dtype: DataType, unit: str | None = None,
         limits: tuple[float, float] | None = None, writable: bool = False) -> Tag:
    levels = path[:5] + ([".".join(path[5:])] if len(path) > 5 else [])  # as the OPC UA browse joins deep levels
    return Tag(id=f"ns=4;s={tid}", name=name, data_type=dtype, unit=unit, writable=writable,
               asset=AssetPath.parse("/".join(levels)),
               limits=Limits(low=limits[0], high=limits[1]) if limits else None)


def _plant() -> tuple[list[Tag], dict[str, list[object]], PlantFacts]:
    tags: list[Tag] = []
    values: dict[str, list[object]] = {}
    vtypes: dict[str, str] = {}

    def add(tid: str, path: list[str], name: str, dtype: DataType, vals: list[object], vtype: str = "",
            **kw: object) -> None:
        tags.append(_tag(tid, path, name, dtype, **kw))  # type: ignore[arg-type]
        values[f"ns=4;s={tid}"] = vals
        if vtype:
            vtypes[f"ns=4;s={tid}"] = vtype

    for axis in (1, 2, 3):
        add(f"R1.A{axis}.Pos", [*ROBOT, "Axes", f"Axis{axis}", "ParameterSet"], "ActualPosition", DataType.FLOAT,
            [10.0 * axis, 11.0 * axis, 12.0 * axis], "AnalogUnitType", unit="°")
        motor = [*ROBOT, "PowerTrains", f"PowerTrain{axis}", f"Motor{axis}", "ParameterSet"]
        add(f"R1.M{axis}.Temp", motor, "MotorTemperature", DataType.FLOAT, [44.0 + axis, 44.5 + axis, 45.0 + axis],
            "AnalogUnitType", unit="°C", limits=(0.0, 150.0))
        add(f"R1.M{axis}.Load", motor, "EffectiveLoadRate", DataType.FLOAT, [40.0, 41.0, 42.0], unit="%")
    add("R1.Ovr", [*ROBOT, "ParameterSet"], "SpeedOverride", DataType.FLOAT, [100.0, 100.0, 100.0])
    add("R1.OnPath", [*ROBOT, "ParameterSet"], "OnPath", DataType.BOOLEAN, [True, True, True])
    add("R1.State", [*ROBOT, "MachineryItemState"], "CurrentState", DataType.STRING,
        ["Executing", "Executing", "Executing"])
    add("R1.Err", ROBOT, "ErrorCode", DataType.INTEGER, [0, 0, 0])
    add("R1.ErrActive", ROBOT, "ErrorActive", DataType.BOOLEAN, [False, False, False], "TwoStateDiscreteType")
    add("RC1.Mode", [*CONTROLLER, "TaskControls", "T1", "ParameterSet"], "ExecutionMode", DataType.STRING,
        ["CONTINUOUS"] * 3)
    add("RC1.Prog", [*CONTROLLER, "TaskControls", "T1", "ParameterSet"], "TaskProgramName", DataType.STRING,
        ["WELD_A"] * 3)
    types = {**TYPES}
    for axis in (1, 2, 3):
        base = "Cell1/MotionDeviceSystem/MotionDevices/R1"
        types[f"{base}/Axes/Axis{axis}"] = "AxisType"
        types[f"{base}/PowerTrains/PowerTrain{axis}"] = "PowerTrainType"
        types[f"{base}/PowerTrains/PowerTrain{axis}/Motor{axis}"] = "MotorType"
    types["Cell1/MotionDeviceSystem/MotionDevices/R1/MachineryItemState"] = "MachineryItemState_StateMachineType"
    types["Cell1/MotionDeviceSystem/Controllers/RC1/TaskControls/T1"] = "TaskControlType"
    return tags, values, PlantFacts(object_types=types, variable_types=vtypes)


def test_companion_spec_components_stay_inside_the_robot() -> None:
    tags, _, facts = _plant()
    layout = layout_of(tags, facts.object_types)
    robot = "Cell1/MotionDeviceSystem/MotionDevices/R1"
    assert layout.machines == [robot, "Cell1/MotionDeviceSystem/Controllers/RC1"]
    assert layout.machine_of["ns=4;s=R1.M2.Temp"] == robot
    assert layout.parts["ns=4;s=R1.M2.Temp"] == ["PowerTrains", "PowerTrain2", "Motor2", "ParameterSet"]
    assert layout.machine_of["ns=4;s=R1.State"] == robot
    assert layout.machine_of["ns=4;s=R1.Ovr"] == robot


def test_robot_template_on_an_opc_40010_robot() -> None:
    tags, values, facts = _plant()
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, facts=facts)  # type: ignore[arg-type]
    assert prop.equipment == "Cell1/MotionDeviceSystem/MotionDevices/R1"
    by = prop.roles
    # joint 2's motor temperature: PowerTrain2/Motor2, not Motor1/Motor3; the AnalogUnitType counts for it
    assert (by["joint2_temperature"].tag_id, by["joint2_temperature"].confidence) == ("ns=4;s=R1.M2.Temp", "high")
    assert any("AnalogUnitType" in r for r in by["joint2_temperature"].reasons)
    # OPC 40001's CurrentState is the robot's state (no electric current); 'ParameterSet' is no setpoint
    assert (by["robot_state"].tag_id, by["robot_state"].confidence) == ("ns=4;s=R1.State", "medium")
    assert not any("current" in r for r in by["robot_state"].reasons)
    assert (by["fault_code"].tag_id, by["fault_code"].confidence) == ("ns=4;s=R1.Err", "high")
    assert (by["fault_active"].tag_id, by["fault_active"].confidence) == ("ns=4;s=R1.ErrActive", "medium")
    assert any("TwoStateDiscreteType" in r for r in by["fault_active"].reasons)
    assert not any("spindle" in r for rm in by.values() for r in rm.reasons)  # 'PowerTrains' is no 'S'(pindle)
    # 40010's SpeedOverride is reported, not commanded (read-only): never taken unasked for a setpoint
    assert by["speed_override"].tag_id == "ns=4;s=R1.Ovr"
    assert by["speed_override"].confidence == "low"
    assert any("read-only" in c for c in by["speed_override"].conflicts)
    # a load rate is not a torque: at most a question
    assert by["joint2_torque"].confidence != "high"
    # nothing from the controller's task control
    assert all(not (rm.tag_id or "").startswith("ns=4;s=RC1") for rm in by.values())


def test_variable_type_contradicting_the_role_is_a_conflict() -> None:
    tags, values, facts = _plant()
    facts.variable_types["ns=4;s=R1.State"] = "AnalogItemType"
    prop = propose_mapping(resolve_spec("robotics")[0], tags, values, facts=facts)  # type: ignore[arg-type]
    rm = prop.roles["robot_state"]
    assert (rm.tag_id, rm.confidence) == ("ns=4;s=R1.State", "low")
    assert rm.conflicts == ["AnalogItemType (an analog value), the role is a string"]
