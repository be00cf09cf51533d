# People with rekognition-faces (eventlens.results.people_rekognition): the faces' descriptors
# in a Rekognition face collection per environment that runs both; the people table keeps the
# face ids, people and names. Like that table it holds biometric data: `eventlens people forget
# --collection` empties it, destroying the environment deletes it.
resource "aws_rekognition_collection" "people" {
  for_each = local.collection_envs

  collection_id = local.people_collection_ids[each.key]

  tags = {
    Environment = each.key
  }
}
