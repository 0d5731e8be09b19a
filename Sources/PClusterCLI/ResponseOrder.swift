import JSONOutput

/// Puts a command's JSON in the order the original prints it: its API models' attribute order
/// (ResponseModels.swift, generated from them), nested models included. Keys the original does not
/// have (our `location`, `updatePolicy`) follow its keys in the order we wrote them.
enum ResponseOrder {
    static let successModels: [String: String] = [
        "create-cluster": "CreateClusterResponseContent", "delete-cluster": "DeleteClusterResponseContent",
        "describe-cluster": "DescribeClusterResponseContent", "list-clusters": "ListClustersResponseContent",
        "update-cluster": "UpdateClusterResponseContent", "describe-compute-fleet": "DescribeComputeFleetResponseContent",
        "update-compute-fleet": "UpdateComputeFleetResponseContent",
        "describe-cluster-instances": "DescribeClusterInstancesResponseContent",
        "list-cluster-log-streams": "ListClusterLogStreamsResponseContent",
        "get-cluster-log-events": "GetClusterLogEventsResponseContent",
        "get-cluster-stack-events": "GetClusterStackEventsResponseContent", "build-image": "BuildImageResponseContent",
        "delete-image": "DeleteImageResponseContent", "describe-image": "DescribeImageResponseContent",
        "list-images": "ListImagesResponseContent", "list-official-images": "ListOfficialImagesResponseContent",
        "list-image-log-streams": "ListImageLogStreamsResponseContent", "get-image-log-events": "GetImageLogEventsResponseContent",
        "get-image-stack-events": "GetImageStackEventsResponseContent",
    ]

    /// The model a command's answer is: a refusal with findings, a dry run, or the command's own answer.
    static func model(command: String, json: JSONValue) -> String? {
        guard case .object(let o) = json else { return nil }
        if o["configurationValidationErrors"] != nil || o["updateValidationErrors"] != nil {
            switch command {
            case "update-cluster": return "UpdateClusterBadRequestExceptionResponseContent"
            case "build-image": return "BuildImageBadRequestExceptionResponseContent"
            default: return "CreateClusterBadRequestExceptionResponseContent"
            }
        }
        if o["message"] != nil, o["validationMessages"] != nil || o["changeSet"] != nil { return "DryrunOperationExceptionResponseContent" }
        return successModels[command]
    }

    static func apply(_ value: JSONValue, command: String) -> JSONValue {
        guard let model = model(command: command, json: value) else { return value }
        return apply(value, model: model)
    }

    static func apply(_ value: JSONValue, model: String) -> JSONValue {
        switch value {
        case .array(let items):
            return .array(items.map { apply($0, model: model) })
        case .object(let object):
            guard let keys = ResponseModels.keys[model] else { return value }
            var ordered = JSONObject()
            for (key, nested) in keys {
                guard let v = object[key] else { continue }
                ordered[key] = nested.map { apply(v, model: $0) } ?? v
            }
            for (key, v) in object.entries where ordered[key] == nil { ordered[key] = v }
            return .object(ordered)
        default:
            return value
        }
    }
}
